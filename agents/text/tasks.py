"""Text tasks: a prompt set and a hidden scoring rule (the text domain's true reward).

Synthetic teachers judge completions by the rule, as they judge clips by an env's true
reward; the reward model and the policy never see it. Rules are named by a short spec:

- ``count:CHARS``: how many characters of the completion are in ``CHARS``
  (``count:a`` prefers more a's);
- ``length``: the completion's length in characters;
- ``regex:PATTERN``: how many non-overlapping matches of ``PATTERN`` it has.

Prompt files are UTF-8 text, one prompt per line (blank lines skipped), or JSON Lines
(``.jsonl``) with a ``"prompt"`` string per row, as TRL's prompt-only datasets have.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feedback.errors import FeedbackError
from feedback.files import read_json_lines

Rule = Callable[[str], float]
RULES = ("count:CHARS", "length", "regex:PATTERN")


def make_rule(spec: str) -> Rule:
    """The scoring rule a spec names (see the module docstring)."""
    kind, _, argument = spec.partition(":")
    if kind == "count" and argument:
        chars = frozenset(argument)
        return lambda completion: float(sum(c in chars for c in completion))
    if kind == "length" and not argument:
        return lambda completion: float(len(completion))
    if kind == "regex" and argument:
        try:
            pattern = re.compile(argument)
        except re.error as err:
            raise FeedbackError(f"rule {spec!r}: not a regular expression ({err})") from None
        return lambda completion: float(len(pattern.findall(completion)))
    raise FeedbackError(f"unknown scoring rule {spec!r}; use one of: {', '.join(RULES)}")


@dataclass
class TextTask:
    """Prompts to complete and the hidden rule that scores completions.

    :param name: the task's name (text segments' env id is ``text/NAME``)
    :param prompts: the prompts, in order
    :param rule: the scoring-rule spec (see :func:`make_rule`)
    """

    name: str
    prompts: list[str]
    rule: str

    def __post_init__(self) -> None:
        if not self.prompts:
            raise FeedbackError(f"text task {self.name!r} has no prompts")
        self._score = make_rule(self.rule)

    def scores(self, completions: Sequence[str]) -> np.ndarray:
        """The hidden score of each completion."""
        return np.array([self._score(c) for c in completions], dtype=np.float64)


def read_prompts(path: str | os.PathLike) -> list[str]:
    """The prompts of a text or JSON Lines file; a one-line FeedbackError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise FeedbackError(f"prompt file {path} does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise FeedbackError(f"prompt file {path} is not UTF-8 text (byte {err.start}: "
                            f"{err.reason})") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if path.suffix == ".jsonl":
        lines = []
        for number, row in read_json_lines(path, "prompts"):
            if not isinstance(row.get("prompt"), str):
                raise FeedbackError(f"{path}:{number}: needs a \"prompt\" string")
            lines.append(row["prompt"])
    if not lines:
        raise FeedbackError(f"prompt file {path} has no prompts")
    return lines
