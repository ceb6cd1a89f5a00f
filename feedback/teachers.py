"""Synthetic teachers: answer segment comparisons from the hidden task reward.

The noise models and parameter names follow B-Pref (Lee et al. 2021, "B-Pref:
Benchmarking Preference-Based Reinforcement Learning"):

- ``beta``: rationality of a Bradley-Terry teacher, P(right) = sigmoid(beta * (R_right -
  R_left)); ``inf`` answers deterministically (the oracle).
- ``gamma``: myopia; step t of a T-step segment is weighted gamma**(T-1-t), so later steps
  count more.
- ``eps_mistake``: probability of flipping the answer.
- ``eps_skip``: no answer when both segments' returns lie in the bottom ``eps_skip`` share
  of the return range.
- ``eps_equal``: answers ``equal`` when the returns differ by less than ``eps_equal``
  times the return range.

B-Pref scales its thresholds by the mean segment return; that breaks for tasks whose
returns are negative (Reacher), so the scale here is the range (max - min) of reference
returns: those passed to :meth:`SyntheticTeacher.calibrate`, else the returns of the
segments in the batch being answered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from feedback.answers import EQUAL, LEFT, RIGHT, SKIP
from feedback.errors import FeedbackError
from feedback.segments import Segment, stack


@dataclass
class SyntheticTeacher:
    """A B-Pref style teacher; deterministic for a given ``seed``."""

    beta: float = math.inf
    gamma: float = 1.0
    eps_mistake: float = 0.0
    eps_skip: float = 0.0
    eps_equal: float = 0.0
    seed: int | None = None
    name: str = "custom"
    reference_returns: np.ndarray | None = None
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.beta > 0:
            raise FeedbackError(f"teacher beta must be positive, got {self.beta}")
        if not 0 < self.gamma <= 1:
            raise FeedbackError(f"teacher gamma must be in (0, 1], got {self.gamma}")
        for name in ("eps_mistake", "eps_skip", "eps_equal"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise FeedbackError(f"teacher {name} must be in [0, 1], got {value}")
        self._rng = np.random.default_rng(self.seed)

    def calibrate(self, returns: np.ndarray) -> None:
        """Fix the return scale of the skip and equal thresholds (e.g. all buffer segments)."""
        self.reference_returns = np.asarray(returns, dtype=np.float64)

    def answer(self, left_rewards: np.ndarray, right_rewards: np.ndarray) -> list[str]:
        """Answer a batch of pairs given their per-step true rewards, each ``(N, T)``."""
        left_rewards = np.atleast_2d(np.asarray(left_rewards, dtype=np.float64))
        right_rewards = np.atleast_2d(np.asarray(right_rewards, dtype=np.float64))
        if left_rewards.shape != right_rewards.shape:
            raise FeedbackError(
                f"left and right rewards differ in shape: {left_rewards.shape} vs "
                f"{right_rewards.shape}"
            )
        n, steps = left_rewards.shape
        left_sum, right_sum = left_rewards.sum(1), right_rewards.sum(1)
        reference = self.reference_returns
        if reference is None or len(reference) == 0:
            reference = np.concatenate([left_sum, right_sum])
        low, scale = float(reference.min()), float(np.ptp(reference))
        skip = np.maximum(left_sum, right_sum) < low + self.eps_skip * scale
        skip &= self.eps_skip > 0
        equal = np.abs(left_sum - right_sum) < self.eps_equal * scale

        weights = self.gamma ** np.arange(steps - 1, -1, -1, dtype=np.float64)
        margin = (right_rewards - left_rewards) @ weights  # > 0: right is better
        if math.isinf(self.beta):
            prefers_right = margin > 0
            tie = margin == 0
        else:
            p_right = 0.5 * (1 + np.tanh(0.5 * self.beta * margin))  # stable sigmoid
            prefers_right = self._rng.random(n) < p_right
            tie = np.zeros(n, dtype=bool)
        mistake = self._rng.random(n) < self.eps_mistake
        prefers_right ^= mistake

        answers = np.where(prefers_right, RIGHT, LEFT).astype(object)
        answers[tie | equal] = EQUAL
        answers[skip] = SKIP
        return answers.tolist()

    def answer_segments(
        self, left: Sequence[Segment], right: Sequence[Segment]
    ) -> list[str]:
        """Answer pairs ``(left[i], right[i])`` of segments."""
        if len(left) != len(right):
            raise FeedbackError(f"{len(left)} left segments but {len(right)} right ones")
        if not left:
            return []
        return self.answer(stack(left, "true_rewards"), stack(right, "true_rewards"))


# B-Pref's teachers, by name. Each differs from the oracle in one parameter.
TEACHER_PRESETS: dict[str, dict[str, float]] = {
    "oracle": {},
    "bradley_terry": {"beta": 1.0},
    "myopic": {"gamma": 0.9},
    "mistake": {"eps_mistake": 0.1},
    "skip": {"eps_skip": 0.1},
    "equal": {"eps_equal": 0.1},
}


def make_teacher(name: str, seed: int | None = None, **overrides: float) -> SyntheticTeacher:
    """Build a named teacher (see ``TEACHER_PRESETS``); ``overrides`` set any parameter."""
    if name not in TEACHER_PRESETS:
        raise FeedbackError(
            f"unknown teacher {name!r}; choose one of: {', '.join(TEACHER_PRESETS)}"
        )
    unknown = set(overrides) - {"beta", "gamma", "eps_mistake", "eps_skip", "eps_equal"}
    if unknown:
        raise FeedbackError(f"unknown teacher parameter {sorted(unknown)[0]!r}; use beta, "
                            "gamma, eps_mistake, eps_skip or eps_equal")
    params = {**TEACHER_PRESETS[name], **overrides}
    return SyntheticTeacher(name=name, seed=seed, **params)
