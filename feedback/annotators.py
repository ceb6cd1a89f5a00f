"""Annotator quality: self-consistency on repeated pairs and agreement with others.

The viewer re-asks a share of earlier pairs with the sides swapped; comparing the two
answers (sides put back) measures how consistent a person is. Pairs answered by several
people measure agreement. The reward model can weight each label by its annotator's
self-consistency (:func:`label_weights`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from feedback.answers import SKIP, swap_sides
from feedback.store import Label


def annotator_quality(labels: Sequence[Label]) -> dict[str, dict]:
    """Per annotator: labels, repeats, self-consistency, shared pairs, agreement.

    Skips and flagged answers (a pair marked broken) are left out: ``labels`` counts the
    usable ones. A figure is None where nothing compares.
    """
    answers: dict[str, dict[tuple[str, str], list[str]]] = {}
    for lab in labels:
        if lab.answer == SKIP or lab.flagged:
            continue
        key, answer = _oriented(lab.left_id, lab.right_id, lab.answer)
        answers.setdefault(lab.annotator, {}).setdefault(key, []).append(answer)
    report = {}
    for name, mine in answers.items():
        repeats = [(first, later) for given in mine.values() if len(given) > 1
                   for first, later in zip(given, given[1:])]
        shared = [(a, b) for key, given in mine.items() for other, theirs in answers.items()
                  if other != name and key in theirs for a in given for b in theirs[key]]
        report[name] = {
            "labels": sum(len(given) for given in mine.values()),
            "repeats": len(repeats),
            "self_consistency": _share_equal(repeats),
            "shared": len(shared),
            "agreement_with_others": _share_equal(shared),
        }
    return report


def label_weights(labels: Sequence[Label], min_repeats: int = 3) -> np.ndarray:
    """A weight per label (in the given order): its annotator's self-consistency.

    Annotators with fewer than ``min_repeats`` repeated pairs (synthetic teachers, new
    people) weigh 1.0.
    """
    quality = annotator_quality(labels)
    weight = {name: q["self_consistency"] for name, q in quality.items()
              if q["repeats"] >= min_repeats and q["self_consistency"] is not None}
    return np.array([weight.get(lab.annotator, 1.0) for lab in labels])


def _oriented(left: str, right: str, answer: str) -> tuple[tuple[str, str], str]:
    """A pair and its answer in one canonical order of the two segment ids."""
    if left <= right:
        return (left, right), answer
    return (right, left), swap_sides(answer)


def _share_equal(pairs: list[tuple[str, str]]) -> float | None:
    return sum(a == b for a, b in pairs) / len(pairs) if pairs else None
