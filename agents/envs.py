"""Env plumbing for training: the reward-swapped VecEnv stack and true-return evaluation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from rlhf_envs import LearnedRewardVecEnv
from rlhf_envs.normalize import ReturnNormalizer


class TrueRewardVecEnv(VecEnvWrapper):
    """The baseline's reward: the hidden task reward itself (``info["true_reward"]``)."""

    def __init__(self, venv: VecEnv, normalize: bool = False, gamma: float = 0.99) -> None:
        super().__init__(venv)
        if venv.has_attr("defer_reward"):
            venv.env_method("defer_reward")  # the inner envs' own 0.0 rewards are replaced
        self._normalizer = ReturnNormalizer(self.num_envs, gamma) if normalize else None

    def reset(self) -> np.ndarray:
        if self._normalizer is not None:
            self._normalizer.end_episodes()
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        obs, _, dones, infos = self.venv.step_wait()
        rewards = np.array([info["true_reward"] for info in infos], dtype=np.float32)
        if self._normalizer is not None:
            rewards = self._normalizer(rewards, dones).astype(np.float32)
        return obs, rewards, dones, infos


def make_reward_env(
    env_id: str, n_envs: int, seed: int, *, true_reward: bool, normalize: bool,
    gamma: float, env_kwargs: dict | None = None,
) -> VecEnvWrapper:
    """``n_envs`` copies of ``env_id`` whose reward is learned (or true, for the baseline)."""
    # "module:id" lets spawned SubprocVecEnv workers import rlhf_envs too.
    venv = make_vec_env(f"rlhf_envs:{env_id}", n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    if true_reward:
        return TrueRewardVecEnv(venv, normalize=normalize, gamma=gamma)
    return LearnedRewardVecEnv(venv, None, env_id=env_id, normalize=normalize, gamma=gamma)


def evaluate(
    env_id: str,
    episodes: int,
    seed: int,
    agent: BaseAlgorithm | None = None,
    env_kwargs: dict | None = None,
    keep_states: bool = False,
) -> tuple[list[float], np.ndarray | None]:
    """True returns of ``episodes`` episodes of ``agent`` (deterministic), or of a random
    policy when ``agent`` is None; with ``keep_states``, the first episode's render states.
    """
    env = gym.make(env_id, **(env_kwargs or {}))
    env.get_wrapper_attr("defer_reward")()  # nobody looks at the learned reward here
    env.action_space.seed(seed)
    returns, states = [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            if agent is None:
                action = env.action_space.sample()
            else:
                action, _ = agent.predict(obs, deterministic=True)
            obs, _, terminated, truncated, info = env.step(action)
            total += info["true_reward"]
            if keep_states and episode == 0:
                states.append(info["render_state"])
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns, (np.array(states) if keep_states and states else None)
