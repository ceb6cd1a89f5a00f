"""Stable-Baselines3's side: VecEnv wrappers, observation normalisation, agent checkpoints.

The VecEnv wrappers are one per file, as SB3 keeps them; an agent's observations are
normalised by SB3's own ``VecNormalize`` (:mod:`.obs_normalization`); checkpoints are
pickle-free (:mod:`.checkpoint`).
"""

from rlhf_envs.sb3.checkpoint import load_policy, restore_agent, save_agent
from rlhf_envs.sb3.learned_reward_vec_env import LearnedRewardVecEnv
from rlhf_envs.sb3.obs_normalization import NormalizedObsPolicy, acting_policy
from rlhf_envs.sb3.segment_recorder import SegmentRecorder
from rlhf_envs.sb3.true_reward_vec_env import TrueRewardVecEnv

__all__ = [
    "LearnedRewardVecEnv",
    "NormalizedObsPolicy",
    "SegmentRecorder",
    "TrueRewardVecEnv",
    "acting_policy",
    "load_policy",
    "restore_agent",
    "save_agent",
]
