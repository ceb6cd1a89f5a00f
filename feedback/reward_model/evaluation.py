"""Label bookkeeping shared by fitting and monitoring: usable labels, hashes, agreement.

Also :class:`FitReport`, what one fit did and how well its result agrees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from feedback.answers import ANSWERS, EQUAL, LEFT, RIGHT, SKIP
from feedback.errors import FeedbackError
from feedback.segments import Segment

TARGETS = {LEFT: 1.0, RIGHT: 0.0, EQUAL: 0.5}  # P(left preferred)


@dataclass
class FitReport:
    """What one ``RewardModel.fit`` call did and how well the result agrees."""

    n_train: int
    n_heldout: int
    epochs: int
    train_loss: float
    train_agreement: float
    heldout_agreement: float | None
    seconds: float


def usable_labels(
    pairs: np.ndarray, answers: Sequence[str], weights: np.ndarray | None = None
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """The labels a fit can use: pairs, answers, weights and targets, skips left out.

    Raises :class:`FeedbackError` in one line when the answers do not match the pairs,
    are unknown, or are all skips.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) != len(answers):
        raise FeedbackError(f"{len(pairs)} pairs but {len(answers)} answers")
    unknown = set(answers) - set(ANSWERS)
    if unknown:
        raise FeedbackError(f"unknown answers {sorted(unknown)}; use left/right/equal/skip")
    weights = np.ones(len(pairs)) if weights is None else np.asarray(weights, np.float64)
    keep = np.array([a != SKIP for a in answers], dtype=bool)
    answers = [a for a in answers if a != SKIP]
    if not answers:
        raise FeedbackError("no usable labels to fit on (all skipped or none given)")
    targets = np.array([TARGETS[a] for a in answers], dtype=np.float32)
    return pairs[keep], answers, weights[keep], targets


def labels_hash(segments: Sequence[Segment], pairs: np.ndarray, answers: Sequence[str]) -> str:
    """sha256 of the labelled pairs (segment ids and answers), order-independent."""
    rows = sorted(
        f"{segments[i].id}|{segments[j].id}|{a}" for (i, j), a in zip(pairs.tolist(), answers)
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def heldout_mask(
    segments: Sequence[Segment], pairs: np.ndarray, fraction: float
) -> np.ndarray:
    """Which labelled pairs are held out: decided by a hash of the pair's segment ids.

    The same pair stays held out across refits as labels accumulate, so the held-out
    agreement is always measured on labels the (warm-started) model never trained on.
    """
    keys = [f"{segments[i].id}|{segments[j].id}".encode() for i, j in pairs.tolist()]
    draws = np.array([int.from_bytes(hashlib.sha256(k).digest()[:8], "big") for k in keys])
    return draws / 2.0**64 < fraction


def agreement(left_returns: np.ndarray, right_returns: np.ndarray, answers: Sequence[str]):
    """Share of strict answers (left/right) whose winner has the higher predicted return."""
    answers = np.asarray(answers)
    strict = (answers == LEFT) | (answers == RIGHT)
    if not strict.any():
        return None
    predicted_left = np.asarray(left_returns) > np.asarray(right_returns)
    return float((predicted_left == (answers == LEFT))[strict].mean())
