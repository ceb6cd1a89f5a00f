"""Env plumbing for training: the reward-swapped VecEnv stack and true-return evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.env_util import make_vec_env

from rlhf_envs import LearnedRewardVecEnv, TrueRewardVecEnv


def make_reward_env(
    env_id: str, n_envs: int, seed: int, *, true_reward: bool, normalize_reward: bool,
    gamma: float, env_kwargs: dict | None = None, reward_term: str | None = None,
) -> LearnedRewardVecEnv | TrueRewardVecEnv:
    """``n_envs`` copies of ``env_id`` whose reward is learned (or true, for the baseline).

    :param env_id: the env's id
    :param n_envs: how many copies step side by side
    :param seed: seeds the envs (``seed``, ``seed + 1``, ...)
    :param true_reward: give the hidden task reward instead of a learned one
    :param normalize_reward: scale rewards by the running std of their discounted returns
    :param gamma: discount of those returns
    :param env_kwargs: options for each env
    :param reward_term: with ``true_reward``, train on this reward term only (a proxy)
    """
    # "module:id" lets spawned SubprocVecEnv workers import rlhf_envs too.
    venv = make_vec_env(f"rlhf_envs:{env_id}", n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    if true_reward:
        return TrueRewardVecEnv(venv, normalize_reward=normalize_reward, gamma=gamma,
                                term=reward_term)
    # No model before the first fit, on purpose: the first rollouts are random.
    return LearnedRewardVecEnv(venv, None, env_id=env_id, normalize_reward=normalize_reward,
                               gamma=gamma, warn_without_model=False)


@dataclass
class Evaluation:
    """What evaluation episodes showed, on the true reward.

    ``terminated[i]``: episode ``i`` ended by itself (fell, crashed, the user left) rather
    than at the time limit. ``terms`` holds each reward term's total per episode (e.g.
    SlateRec's clicks, Highway's collisions).
    """

    returns: list[float]
    lengths: list[int]
    terminated: list[bool]
    terms: dict[str, list[float]] = field(default_factory=dict)
    render_states: np.ndarray | None = None
    deterministic: bool = True  # the agent took its most likely actions (else sampled)

    def summary(self) -> dict:
        """Means for metrics.json: episode length, share terminated, each term's total."""
        return {"eval_deterministic": self.deterministic,
                "episode_length_mean": float(np.mean(self.lengths)),
                "terminated_share": float(np.mean(self.terminated)),
                "reward_terms_mean": {k: float(np.mean(v)) for k, v in self.terms.items()}}


def evaluate(
    env_id: str,
    episodes: int,
    seed: int,
    agent: Any = None,
    env_kwargs: dict | None = None,
    keep_states: bool = False,
    deterministic: bool = True,
) -> Evaluation:
    """``episodes`` episodes of ``agent`` on the true reward (returns, lengths, ends, terms).

    :param env_id: the env's id
    :param episodes: how many episodes
    :param seed: episode ``k`` is reset with ``seed + k``
    :param agent: anything with SB3's ``predict`` that acts on the env's raw observations
        (an agent trained on normalised ones behind
        :func:`~rlhf_envs.sb3.obs_normalization.acting_policy`). None: a random
        policy acts
    :param env_kwargs: options for the env
    :param keep_states: the first episode's render states come back too
    :param deterministic: the agent takes its most likely action; else it samples, with
        torch's global generator seeded from ``seed`` so that the figures repeat
    """
    env = gym.make(env_id, warn_without_model=False, **(env_kwargs or {}))  # true reward only
    env.action_space.seed(seed)
    if agent is not None and not deterministic:
        torch.manual_seed(seed)
    result = Evaluation([], [], [], deterministic=deterministic)
    states = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, steps, terms, done, terminated = 0.0, 0, {}, False, False
        while not done:
            if agent is None:
                action = env.action_space.sample()
            else:
                action, _ = agent.predict(obs, deterministic=deterministic)
            obs, _, terminated, truncated, info = env.step(action)
            total += info["true_reward"]
            steps += 1
            for key, value in info.get("reward_terms", {}).items():
                terms[key] = terms.get(key, 0.0) + float(value)
            if keep_states and episode == 0:
                states.append(info["render_state"])
            done = terminated or truncated
        result.returns.append(total)
        result.lengths.append(steps)
        result.terminated.append(bool(terminated))
        for key, value in terms.items():
            result.terms.setdefault(key, []).append(value)
    env.close()
    if keep_states and states:
        result.render_states = np.array(states)
    return result
