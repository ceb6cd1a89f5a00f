"""What the loop watches each iteration: agreement, learned against true return, hacking.

Reward hacking shows as the learned return rising while the true return falls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HACKING_WINDOW = 3  # iterations: the learned return rose twice while the true return fell


@dataclass
class IterationRecord:
    """One iteration's figures, as ``history.json`` and TensorBoard (``rlhf/*``) keep them."""

    iteration: int
    timesteps: int
    labels: int
    heldout_agreement: float | None  # of the reward model, on labels it never trained on
    return_correlation: float | None  # Pearson r of learned and true segment returns
    oracle_agreement: float | None  # with the true return's order, on fresh unlabelled pairs
    true_return_mean: float | None  # of the agent's recent episodes
    true_segment_return_mean: float | None
    learned_return_mean: float | None
    # CPU seconds of this iteration (this process, all threads): the agent's learning (env
    # steps, the reward in the loop, its updates), and the rest (asking, the teacher,
    # refitting the reward model, these figures). The loop's cost, per part, in any run.
    agent_cpu_seconds: float
    feedback_cpu_seconds: float


def correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson r of two series, or None where it means nothing (too short or constant)."""
    if len(a) < 3 or np.std(a) < 1e-12 or np.std(b) < 1e-12:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def oracle_agreement(learned: np.ndarray, true: np.ndarray) -> float | None:
    """Share of pairs of fresh segments the learned returns order as the true returns do.

    Consecutive segments are paired (0-1, 2-3, ...); pairs whose true returns tie are left
    out. Unlike held-out agreement with the teacher, this measures the reward model
    against the task itself, whichever teacher (mistaken, myopic, ...) it learned from.
    """
    pairs = len(learned) // 2
    left, right = slice(0, 2 * pairs, 2), slice(1, 2 * pairs, 2)
    differs = np.abs(true[left] - true[right]) > 1e-9
    if not differs.any():
        return None
    agree = (learned[left] > learned[right]) == (true[left] > true[right])
    return float(agree[differs].mean())


def reward_hacking(history: list[dict]) -> bool:
    """Learned return rose while true return fell, over the last two iterations."""
    if len(history) < HACKING_WINDOW:
        return False
    learned = [h["learned_return_mean"] for h in history[-HACKING_WINDOW:]]
    true = [h["true_segment_return_mean"] for h in history[-HACKING_WINDOW:]]
    if None in learned or None in true:
        return False
    return learned[0] < learned[1] < learned[2] and true[0] > true[1] > true[2]
