"""Gymnasium RLHF environments: ``import rlhf_envs`` registers every ``rlhf_envs/...`` id.

    env = gymnasium.make("rlhf_envs/HalfCheetah-v0", reward_model="runs/x/reward_model")
"""

from rlhf_envs.clips import ClipRenderer
from rlhf_envs.learned_reward import LearnedReward, NoRewardModelWarning
from rlhf_envs.learned_reward_vec_env import LearnedRewardVecEnv
from rlhf_envs.registration import ENVS, make_clip_renderer, register_envs

register_envs()

ENV_IDS = [f"rlhf_envs/{name}" for name in ENVS]

__all__ = [
    "ENV_IDS",
    "ClipRenderer",
    "LearnedReward",
    "LearnedRewardVecEnv",
    "NoRewardModelWarning",
    "make_clip_renderer",
]
