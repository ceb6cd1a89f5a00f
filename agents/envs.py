"""Env plumbing for training: the reward-swapped VecEnv stack and true-return evaluation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env

from rlhf_envs import LearnedRewardVecEnv, TrueRewardVecEnv


def make_reward_env(
    env_id: str, n_envs: int, seed: int, *, true_reward: bool, normalize_reward: bool,
    gamma: float, env_kwargs: dict | None = None,
) -> LearnedRewardVecEnv | TrueRewardVecEnv:
    """``n_envs`` copies of ``env_id`` whose reward is learned (or true, for the baseline).

    :param env_id: the env's id
    :param n_envs: how many copies step side by side
    :param seed: seeds the envs (``seed``, ``seed + 1``, ...)
    :param true_reward: give the hidden task reward instead of a learned one
    :param normalize_reward: scale rewards by the running std of their discounted returns
    :param gamma: discount of those returns
    :param env_kwargs: options for each env
    """
    # "module:id" lets spawned SubprocVecEnv workers import rlhf_envs too.
    venv = make_vec_env(f"rlhf_envs:{env_id}", n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    if true_reward:
        return TrueRewardVecEnv(venv, normalize_reward=normalize_reward, gamma=gamma)
    # No model before the first fit, on purpose: the first rollouts are random.
    return LearnedRewardVecEnv(venv, None, env_id=env_id, normalize_reward=normalize_reward,
                               gamma=gamma, warn_without_model=False)


def evaluate(
    env_id: str,
    episodes: int,
    seed: int,
    agent: BaseAlgorithm | None = None,
    env_kwargs: dict | None = None,
    keep_states: bool = False,
) -> tuple[list[float], np.ndarray | None]:
    """True returns of ``episodes`` episodes of ``agent``, and optionally its render states.

    The agent acts deterministically; with ``agent`` None a random policy acts. With
    ``keep_states``, the first episode's render states come back too (else None).
    """
    env = gym.make(env_id, warn_without_model=False, **(env_kwargs or {}))  # true reward only
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
