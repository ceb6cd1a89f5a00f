"""Running normalisation of rewards by the spread of their discounted return.

The same scheme as gymnasium's ``NormalizeReward`` and SB3's ``VecNormalize``: keep a
discounted return per env, track its running variance, divide rewards by its standard
deviation. A learned reward changes scale at each refit; this keeps the agent's value
targets steady. One instance serves one env (n=1) or a whole VecEnv. As in gymnasium,
``update_running_mean = False`` freezes the statistics (e.g. to evaluate), and
:meth:`state_dict` / :meth:`load_state_dict` save and restore them with a run.
"""

from __future__ import annotations

import numpy as np

from feedback.errors import FeedbackError


class ReturnNormalizer:
    """Scale rewards of ``n_envs`` envs by the running std of their discounted returns.

    :param n_envs: how many envs' rewards come in each call
    :param gamma: discount of the running returns
    :param epsilon: added to the variance before the square root
    """

    def __init__(self, n_envs: int = 1, gamma: float = 0.99, epsilon: float = 1e-8) -> None:
        self.gamma, self.epsilon = gamma, epsilon
        self.returns = np.zeros(n_envs)
        self.count, self.mean, self.var = epsilon, 0.0, 1.0
        self.update_running_mean = True

    def _update(self, batch: np.ndarray) -> None:
        # Chan et al.'s parallel variance update, as in SB3's RunningMeanStd. The batch
        # mean and variance are np.mean's and np.var's own sums, without their
        # per-call overhead (this runs at every env step).
        b_count = len(batch)
        b_mean = batch.sum() / b_count
        squares = batch - b_mean
        squares *= squares
        b_var = squares.sum() / b_count
        delta, total = b_mean - self.mean, self.count + b_count
        self.mean += delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        self.var, self.count = m2 / total, total

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """Normalised rewards; ``dones`` end the discounted return of those envs."""
        self.returns *= self.gamma
        self.returns += rewards
        if self.update_running_mean:
            self._update(self.returns)
        scaled = rewards / np.sqrt(self.var + self.epsilon)
        self.returns[np.asarray(dones, dtype=bool)] = 0.0
        return scaled

    def end_episodes(self) -> None:
        """Start every env's discounted return afresh (a reset the wrapper saw)."""
        self.returns[:] = 0.0

    def state_dict(self) -> dict[str, float]:
        """The running statistics, as JSON-able numbers."""
        return {"gamma": self.gamma, "count": float(self.count), "mean": float(self.mean),
                "var": float(self.var)}

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Restore statistics saved by :meth:`state_dict` (the discount must match)."""
        try:
            gamma, count, mean, var = (float(state[k]) for k in ("gamma", "count", "mean",
                                                                 "var"))
        except (KeyError, TypeError, ValueError):
            raise FeedbackError(f"saved reward normalisation is damaged: {state!r}") from None
        if gamma != self.gamma:
            raise FeedbackError(f"saved reward normalisation has gamma {gamma}, not "
                                f"{self.gamma}")
        self.count, self.mean, self.var = count, mean, var


class NormalizedRewardMixin:
    """``update_running_mean`` for a reward wrapper that keeps a ``normalizer`` (or None)."""

    normalizer: ReturnNormalizer | None

    @property
    def update_running_mean(self) -> bool:
        """Whether the normalisation's statistics still change (False: frozen)."""
        return self.normalizer is not None and self.normalizer.update_running_mean

    @update_running_mean.setter
    def update_running_mean(self, update: bool) -> None:
        if self.normalizer is not None:
            self.normalizer.update_running_mean = bool(update)
