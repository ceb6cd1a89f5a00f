"""Gymnasium wrappers: the learned reward (:mod:`.learned_reward`), what it accepts
(:mod:`.reward_function`) and its running normalisation (:mod:`.normalize`)."""

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
