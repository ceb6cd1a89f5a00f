"""Gymnasium RLHF environments: ``import rlhf_envs`` registers every ``rlhf_envs/...`` id.

    env = gymnasium.make("rlhf_envs/HalfCheetah-v0", reward_model="runs/x/reward_model")

Layout: :mod:`.registration` (the one env table), :mod:`.clips` (the info contract and
clip renderers), one module per domain (:mod:`.robotics`, :mod:`.driving`,
:mod:`.recommendation`), gymnasium wrappers in :mod:`.wrappers`, Stable-Baselines3's
side in :mod:`.sb3`, and the labeling app (:mod:`.compare`, :mod:`.labeling`).
"""

from rlhf_envs.clips import ClipRenderer
from rlhf_envs.registration import (
    ENVS,
    EPISODE_ENDS,
    NAMESPACE,
    episode_end,
    make_clip_renderer,
    register_envs,
)
from rlhf_envs.sb3.learned_reward_vec_env import LearnedRewardVecEnv
from rlhf_envs.sb3.true_reward_vec_env import TrueRewardVecEnv
from rlhf_envs.wrappers import LearnedReward, NoRewardModelWarning, RewardFunction

register_envs()

ENV_IDS = [f"{NAMESPACE}/{name}" for name in ENVS]

__all__ = [
    "ENV_IDS",
    "EPISODE_ENDS",
    "ClipRenderer",
    "LearnedReward",
    "LearnedRewardVecEnv",
    "NoRewardModelWarning",
    "RewardFunction",
    "TrueRewardVecEnv",
    "episode_end",
    "make_clip_renderer",
]
