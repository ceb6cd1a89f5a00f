"""TrueRewardVecEnv: an SB3 VecEnv wrapper whose reward is the hidden task reward.

The baseline of every learning claim: the same agent, steps and seeds as a learned-reward
run, trained on ``info["true_reward"]`` instead of a model's prediction.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from feedback.errors import FeedbackError
from rlhf_envs.clips import REWARD_TERMS
from rlhf_envs.wrappers.normalize import NormalizedRewardMixin, ReturnNormalizer


class TrueRewardVecEnv(NormalizedRewardMixin, VecEnvWrapper):
    """Give the agent the hidden task reward, ``info["true_reward"]``.

    Inner envs that are our :class:`~rlhf_envs.wrappers.LearnedReward` are told to stop
    predicting (``defer_reward``), since their learned reward is replaced anyway.

    :param venv: the VecEnv of our envs (their infos carry ``true_reward``)
    :param normalize_reward: scale rewards by the running std of their discounted returns
    :param gamma: discount of those running returns
    :param term: train on this one of ``info["reward_terms"]`` instead (a hand-written
        proxy, e.g. SlateRec's ``clicks``); None: the whole true reward
    """

    def __init__(self, venv: VecEnv, normalize_reward: bool = False, gamma: float = 0.99,
                 term: str | None = None) -> None:
        super().__init__(venv)
        self.term = term
        if venv.has_attr("defer_reward"):
            venv.env_method("defer_reward")
        self.normalizer = ReturnNormalizer(self.num_envs, gamma) if normalize_reward else None

    def reset(self) -> np.ndarray:
        """Reset every env; the normalised returns start afresh."""
        if self.normalizer is not None:
            self.normalizer.end_episodes()
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        """Wait for the envs; the reward is each info's ``true_reward`` (or its ``term``)."""
        obs, _, dones, infos = self.venv.step_wait()
        if self.term is None:
            rewards = np.array([info["true_reward"] for info in infos], dtype=np.float32)
        else:
            try:
                rewards = np.array([info[REWARD_TERMS][self.term] for info in infos],
                                   dtype=np.float32)
            except KeyError:
                known = sorted(infos[0].get(REWARD_TERMS, {})) if infos else []
                raise FeedbackError(f"no reward term {self.term!r} in this env; its terms: "
                                    f"{', '.join(known) or 'none'}") from None
        if self.normalizer is not None:
            rewards = self.normalizer(rewards, dones).astype(np.float32)
        return obs, rewards, dones, infos
