"""LearnedReward: a gymnasium wrapper whose reward comes from a learned reward model.

The wrapped env follows the contract of :mod:`rlhf_envs.clips`: its own reward is the
hidden task reward, which stays in ``info["true_reward"]`` (and its parts in
``info["reward_terms"]``) for teachers and evaluation; the agent sees only the model's.
"""

from __future__ import annotations

import os
import warnings

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from feedback.reward_model import RewardModel
from rlhf_envs.normalize import ReturnNormalizer

RewardModelLike = RewardModel | str | os.PathLike | None


class NoRewardModelWarning(UserWarning):
    """An env runs without a reward model: its reward is 0.0."""


def resolve_reward_model(
    model: RewardModelLike,
    env_id: str,
    observation_space: spaces.Space,
    action_space: spaces.Space,
) -> RewardModel | None:
    """Load a model from a path, or check a model object, against an env; None stays None."""
    if model is None:
        return None
    if isinstance(model, (str, os.PathLike)):
        return RewardModel.load(model, env_id=env_id or None,
                                observation_space=observation_space,
                                action_space=action_space)
    if not isinstance(model, RewardModel):
        raise TypeError(f"reward_model must be a RewardModel or a path, not {type(model).__name__}")
    model.check_fits(env_id or None, observation_space, action_space)
    return model


class LearnedReward(gym.Wrapper):
    """Replace an env's reward with a reward model's prediction for each transition.

    Parameters:
        env: an env whose ``info`` carries ``true_reward`` (see :mod:`rlhf_envs.clips`).
        reward_model: a :class:`RewardModel`, a path to a saved one, or None. Without a
            model the env still runs (for labeling sessions and first rollouts); its
            reward is 0.0, and it warns once.
        env_id: the id the model must have been trained for (default: the env's spec id).
        normalize: scale rewards by the running std of their discounted return.
        gamma: discount of that running return.
    """

    def __init__(
        self,
        env: gym.Env,
        reward_model: RewardModelLike = None,
        *,
        env_id: str | None = None,
        normalize: bool = False,
        gamma: float = 0.99,
    ) -> None:
        super().__init__(env)
        self.env_id = env_id if env_id is not None else (env.spec.id if env.spec else "")
        self.reward_model = None
        self.set_reward_model(reward_model)
        self._normalizer = ReturnNormalizer(1, gamma) if normalize else None
        self._deferred = False
        self._warned = False
        self._obs = None

    def set_reward_model(self, reward_model: RewardModelLike) -> None:
        """Swap the reward model (e.g. after a refit); takes effect at the next step."""
        self.reward_model = resolve_reward_model(
            reward_model, self.env_id, self.observation_space, self.action_space)

    def defer_reward(self) -> None:
        """A :class:`LearnedRewardVecEnv` predicts for this env: drop any model, stay quiet."""
        self.reward_model, self._deferred = None, True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        if self._normalizer is not None:  # a TimeLimit outside ends episodes unseen here
            self._normalizer.end_episodes()
        return obs, info

    def step(self, action):
        obs, true_reward, terminated, truncated, info = self.env.step(action)
        info.setdefault("true_reward", float(true_reward))
        model = self.reward_model
        if model is not None:
            next_obs = np.asarray(obs)[None] if model.spec.use_next_obs else None
            reward = float(model.predict(np.asarray(self._obs)[None], np.asarray(action)[None],
                                         next_obs)[0])
        else:
            reward = 0.0
            if not (self._warned or self._deferred):
                warnings.warn(f"{self.env_id or 'env'} has no reward model: its reward is 0.0 "
                              "until one is set", NoRewardModelWarning, stacklevel=2)
                self._warned = True
        if self._normalizer is not None:
            reward = float(self._normalizer(np.array([reward]), [terminated or truncated])[0])
        self._obs = obs
        return obs, reward, terminated, truncated, info
