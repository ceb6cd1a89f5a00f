"""Command-line helpers shared by the project's CLIs: bad input is one line, exit code 2.

Errors users can act on are :class:`~feedback.errors.FeedbackError`; a CLI runs its work
through :func:`run_cli`, which prints such an error as ``error: ...`` on stderr and
returns 2, with no traceback. :class:`OneLineParser` does the same for argparse's errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from feedback.errors import FeedbackError

BAD_INPUT = 2  # the exit code of bad input, as argparse's


def print_error(message: object) -> None:
    """Print ``message`` as one ``error: ...`` line on stderr."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)


def run_cli(work: Callable[[], int | None]) -> int:
    """Run a CLI's ``work``; its exit code (0 for None), or 2 after one line for bad input."""
    try:
        return work() or 0
    except FeedbackError as err:
        print_error(err)
        return BAD_INPUT


class OneLineParser(argparse.ArgumentParser):
    """argparse, but bad input ends with one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` in one line and exit with code 2."""
        print_error(f"{message} (see --help)")
        sys.exit(BAD_INPUT)
