"""Label bookkeeping shared by fitting and monitoring: hashes, held-out split, agreement."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from feedback.answers import LEFT, RIGHT
from feedback.segments import Segment


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
