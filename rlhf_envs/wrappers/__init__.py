"""Gymnasium wrappers: the learned reward, what it accepts, and its running normalisation.

They live in :mod:`.learned_reward`, :mod:`.reward_function` and :mod:`.normalize`.
"""

from rlhf_envs.wrappers.learned_reward import LearnedReward
from rlhf_envs.wrappers.normalize import ReturnNormalizer
from rlhf_envs.wrappers.reward_function import (
    NoRewardModelWarning,
    RewardFunction,
    RewardFunctionLike,
    resolve_reward_function,
)

__all__ = [
    "LearnedReward",
    "NoRewardModelWarning",
    "ReturnNormalizer",
    "RewardFunction",
    "RewardFunctionLike",
    "resolve_reward_function",
]
