"""LearnedReward: a gymnasium wrapper whose reward comes from a learned reward function.

The wrapped env follows the contract of :mod:`rlhf_envs.clips`: its own reward is the
hidden task reward, which stays in ``info["true_reward"]`` (and its parts in
``info["reward_terms"]``) for teachers and evaluation; the agent sees only the learned one.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlhf_envs.wrappers.reward_function import RewardFunctionLike
from rlhf_envs.wrappers.reward_swap import RewardSwapMixin


class LearnedReward(RewardSwapMixin, gym.Wrapper):
    """Replace an env's reward with a reward function's prediction for each transition.

    Without a model the env still runs (labeling sessions, first rollouts): its reward is
    0.0 and it warns once, unless ``warn_without_model=False`` says that is on purpose.
    The env itself is not changed.

    :param env: an env whose ``info`` carries ``true_reward`` (see :mod:`rlhf_envs.clips`)
    :param reward_model: anything with ``predict(obs, acts, next_obs)``, a path to a saved
        ``RewardModel``, or None
    :param env_id: the id the model must have been trained for (default: the env's spec id)
    :param normalize_reward: scale rewards by the running std of their discounted return
    :param gamma: discount of that running return
    :param warn_without_model: warn once when a step has no model to ask
    """

    def __init__(
        self,
        env: gym.Env,
        reward_model: RewardFunctionLike = None,
        *,
        env_id: str | None = None,
        normalize_reward: bool = False,
        gamma: float = 0.99,
        warn_without_model: bool = True,
    ) -> None:
        super().__init__(env)
        if env_id is None:
            env_id = env.spec.id if env.spec else ""
        self._start_reward(reward_model, env_id, 1, normalize_reward, gamma, warn_without_model)
        self._obs = None

    def defer_reward(self) -> None:
        """A VecEnv wrapper predicts for this env: drop any model, and never warn."""
        self.reward_model, self._warn = None, False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset the env; the normalised return starts afresh.

        A TimeLimit outside this wrapper ends episodes unseen here, so a reset ends them.
        """
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        if self.normalizer is not None:
            self.normalizer.end_episodes()
        return obs, info

    def step(self, action):
        """Step the env; the reward is the model's (0.0 without one)."""
        obs, true_reward, terminated, truncated, info = self.env.step(action)
        info.setdefault("true_reward", float(true_reward))
        model = self.reward_model
        if model is not None:
            next_obs = np.asarray(obs)[None] if self._next_obs else None
            reward = float(model.predict(np.asarray(self._obs)[None], np.asarray(action)[None],
                                         next_obs)[0])
        else:
            reward = 0.0
            self._warn_no_model()
        if self.normalizer is not None:
            reward = float(self.normalizer(np.array([reward]), [terminated or truncated])[0])
        self._obs = obs
        return obs, reward, terminated, truncated, info
