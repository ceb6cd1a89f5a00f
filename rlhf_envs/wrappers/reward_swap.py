"""What both learned-reward wrappers share: the reward function, its swap, one warning.

:class:`~rlhf_envs.wrappers.LearnedReward` (one gymnasium env) and
:class:`~rlhf_envs.sb3.LearnedRewardVecEnv` (a whole VecEnv) differ in how they step;
which reward function they ask, how it is swapped, their normalisation and their
warning when there is none are the same, and live here.
"""

from __future__ import annotations

import warnings

from rlhf_envs.wrappers.normalize import NormalizedRewardMixin, ReturnNormalizer
from rlhf_envs.wrappers.reward_function import (
    NoRewardModelWarning,
    RewardFunction,
    RewardFunctionLike,
    resolve_reward_function,
    uses_next_obs,
)


class RewardSwapMixin(NormalizedRewardMixin):
    """A wrapper's reward function (``reward_model``), swappable, with its normalisation.

    The wrapper calls :meth:`_start_reward` in its ``__init__``, after the base class's
    (which sets the spaces).
    """

    env_id: str
    reward_model: RewardFunction | None

    def _start_reward(self, reward_model: RewardFunctionLike, env_id: str, n_envs: int,
                      normalize_reward: bool, gamma: float, warn_without_model: bool) -> None:
        self.env_id = env_id
        self.reward_model, self._next_obs = None, True
        self.set_reward_model(reward_model)
        self.normalizer = ReturnNormalizer(n_envs, gamma) if normalize_reward else None
        self._warn = warn_without_model

    def set_reward_model(self, reward_model: RewardFunctionLike) -> None:
        """Swap the reward function (e.g. after a refit); takes effect at the next step."""
        self.reward_model = resolve_reward_function(
            reward_model, self.env_id, self.observation_space, self.action_space)
        self._next_obs = self.reward_model is None or uses_next_obs(self.reward_model)

    def _warn_no_model(self) -> None:
        """Say once that the reward is 0.0 for want of a model (unless told not to)."""
        if self._warn:
            warnings.warn(f"{self.env_id or 'env'} has no reward model: its reward is 0.0 "
                          "until one is set", NoRewardModelWarning, stacklevel=3)
            self._warn = False
