"""Stable-Baselines3's side: VecEnv wrappers and pickle-free agent checkpoints.

The VecEnv wrappers are one per file, as SB3 keeps them.
"""

from rlhf_envs.sb3.checkpoint import load_policy, restore_agent, save_agent
from rlhf_envs.sb3.learned_reward_vec_env import LearnedRewardVecEnv
from rlhf_envs.sb3.segment_recorder import SegmentRecorder
from rlhf_envs.sb3.true_reward_vec_env import TrueRewardVecEnv

__all__ = [
    "LearnedRewardVecEnv",
    "SegmentRecorder",
    "TrueRewardVecEnv",
    "load_policy",
    "restore_agent",
    "save_agent",
]
