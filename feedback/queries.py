"""Which pairs of segments to ask about.

- ``uniform``: random pairs.
- ``disagreement``: pairs on which the ensemble members disagree most, measured as the
  spread (standard deviation) of the members' P(left preferred) (Christiano et al. 2017).
- ``entropy``: pairs whose ensemble-mean P(left preferred) is closest to 0.5 (PEBBLE's
  entropy sampling).

The informed strategies draw ``oversample`` times more random candidates than needed
and keep the best ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from feedback.errors import FeedbackError, check_count
from feedback.reward_model import RewardModel
from feedback.segments import Segment, sample_pairs

STRATEGIES = ("uniform", "disagreement", "entropy")


def preference_probabilities(member_returns: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Each member's P(left preferred) for each pair: ``(M, n)`` from ``(M, N)`` returns."""
    margin = member_returns[:, pairs[:, 0]] - member_returns[:, pairs[:, 1]]
    return 0.5 * (1 + np.tanh(0.5 * margin))  # sigmoid without overflow


def score_pairs(strategy: str, probabilities: np.ndarray) -> np.ndarray:
    """Informativeness of each pair (higher is better) from ``(M, n)`` probabilities."""
    if strategy == "disagreement":
        return probabilities.std(axis=0)
    if strategy == "entropy":
        p = np.clip(probabilities.mean(axis=0), 1e-12, 1 - 1e-12)
        return -(p * np.log(p) + (1 - p) * np.log(1 - p))
    raise FeedbackError(f"unknown query strategy {strategy!r}; choose one of: "
                        f"{', '.join(STRATEGIES)}")


def select_pairs(
    segments: Sequence[Segment],
    n: int,
    rng: np.random.Generator,
    *,
    strategy: str = "disagreement",
    model: RewardModel | None = None,
    oversample: int = 10,
    exclude: set[frozenset[str]] | None = None,
    groups: Sequence[int] | None = None,
) -> np.ndarray:
    """Choose ``n`` pairs of positions in ``segments``: array ``(n, 2)``.

    Pairs whose segment ids are in ``exclude`` (already asked, either order) are never
    chosen; fewer than ``n`` pairs come back only if too few new pairs exist. Without a
    model the informed strategies fall back to uniform. ``groups`` (one number per
    segment) pairs only segments of one group, e.g. two completions of one prompt.
    """
    n = check_count("number of queries", n)
    oversample = check_count("oversample", oversample, 1)
    if strategy not in STRATEGIES:
        raise FeedbackError(f"unknown query strategy {strategy!r}; choose one of: "
                            f"{', '.join(STRATEGIES)}")
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    informed = strategy != "uniform" and model is not None
    count = n * (oversample if informed else 1) + n
    candidates = (sample_pairs(len(segments), count, rng) if groups is None
                  else group_pairs(groups, count, rng))
    candidates = _new_pairs(candidates, segments, exclude or set())
    if informed and len(candidates) > n:
        used, local = np.unique(candidates, return_inverse=True)
        returns = model.member_returns([segments[i] for i in used])
        probabilities = preference_probabilities(returns, local.reshape(-1, 2))
        best = np.argsort(-score_pairs(strategy, probabilities), kind="stable")
        candidates = candidates[best]
    return candidates[:n]


def group_pairs(groups: Sequence[int], count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` random distinct pairs ``(i, j)``, ``i != j``, of one group each."""
    groups = np.asarray(groups)
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    pairs = [(i, j) for m in members for a, i in enumerate(m) for j in m[a + 1:]]
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.asarray(pairs, dtype=np.int64)[rng.permutation(len(pairs))[:count]]
    flip = rng.random(len(pairs)) < 0.5  # either side first
    pairs[flip] = pairs[flip, ::-1]
    return pairs


def _new_pairs(
    candidates: np.ndarray, segments: Sequence[Segment], exclude: set[frozenset[str]]
) -> np.ndarray:
    """Drop pairs asked before and repeats within ``candidates`` (in either order)."""
    seen = set(exclude)
    keep = []
    for k, (i, j) in enumerate(candidates.tolist()):
        key = frozenset((segments[i].id, segments[j].id))
        if key not in seen:
            seen.add(key)
            keep.append(k)
    return candidates[keep]
