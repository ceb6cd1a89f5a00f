"""The answer vocabulary: what a teacher or a person may answer, in one place.

A *pair* of segments is answered ``left`` (the left one is better), ``right``, ``equal``
or ``skip`` (no answer: the pair is left out of fitting). A single segment is *rated*
1-5 (5 best), or skipped. The store, the viewer, the teachers and the reward model all
speak these words.
"""

from __future__ import annotations

LEFT, RIGHT, EQUAL, SKIP = "left", "right", "equal", "skip"
ANSWERS = (LEFT, RIGHT, EQUAL, SKIP)  # to a pair
RATINGS = ("1", "2", "3", "4", "5")  # to a single segment, 5 best; or SKIP


def swap_sides(answer: str) -> str:
    """The same answer with the two sides swapped (``left`` <-> ``right``)."""
    return {LEFT: RIGHT, RIGHT: LEFT}.get(answer, answer)
