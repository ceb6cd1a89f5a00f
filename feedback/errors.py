"""Errors users can act on: each carries one line that says what is wrong.

CLIs catch :class:`FeedbackError` and print ``str(err)`` on stderr with exit code 2,
so messages are written for people, not for tracebacks.
"""

from __future__ import annotations


class FeedbackError(ValueError):
    """Base class: bad input or a file that cannot be used as it is."""


class ModelCardError(FeedbackError):
    """A reward-model file that is damaged, of another format, or for another env."""


class StoreError(FeedbackError):
    """A feedback store that is damaged, newer than this code, or not a store at all."""


def check_count(name: str, value: int, minimum: int = 0) -> int:
    """Return ``value`` as an int, or raise a one-line error if it is below ``minimum``."""
    if isinstance(value, bool) or int(value) != value:
        raise FeedbackError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise FeedbackError(f"{name} must be at least {minimum}, got {value}")
    return int(value)
