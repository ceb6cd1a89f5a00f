"""Every ``rlhf_envs/...`` id: which domain builds it, and how it is registered.

Domain modules are imported only when one of their envs is made, so ``import rlhf_envs``
stays light (highway-env and pygame load only for driving).
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import gymnasium as gym

from feedback.errors import FeedbackError
from feedback.segments import DEFAULT_SEGMENT_LENGTH
from feedback.ui.pairs import ClipGuide
from rlhf_envs.clips import ClipRenderer
from rlhf_envs.wrappers.learned_reward import LearnedReward
from rlhf_envs.wrappers.reward_function import RewardFunctionLike

NAMESPACE = "rlhf_envs"

# domain -> (module, env factory, clip renderer class, what people are told of its clips)
DOMAINS = {
    "robotics": ("rlhf_envs.robotics", "make_robotics_env", "MujocoClipRenderer",
                 "CLIP_GUIDES"),
    "driving": ("rlhf_envs.driving", "make_driving_env", "DrivingClipRenderer", "CLIP_GUIDES"),
    "recommendation": ("rlhf_envs.recommendation", "make_recommendation_env",
                       "SlateRecClipRenderer", "CLIP_GUIDES"),
}

class EnvEntry(NamedTuple):
    """One row of the env table."""

    domain: str                     # a key of DOMAINS
    max_episode_steps: int | None   # registered with gymnasium; None: the env ends itself
    segment_length: int = DEFAULT_SEGMENT_LENGTH  # steps per segment (one clip), by default


# The one env table. Segment lengths are what a clip of the env should hold by default:
# the training loop (agents.hyperparams) and the labeling app both read them here. Random
# driving episodes end after a few steps (Highway 10-30, Merge 4-16, Roundabout at most
# 11, Intersection at most 13), so their clips are short.
ENVS = {
    "HalfCheetah-v0": EnvEntry("robotics", 1000),
    "Hopper-v0": EnvEntry("robotics", 1000),
    "Walker2d-v0": EnvEntry("robotics", 1000),
    "Ant-v0": EnvEntry("robotics", 1000),
    "Reacher-v0": EnvEntry("robotics", 50, 25),
    "Swimmer-v0": EnvEntry("robotics", 1000),
    "Highway-v0": EnvEntry("driving", None, 15),
    "Merge-v0": EnvEntry("driving", None, 10),
    "Roundabout-v0": EnvEntry("driving", None, 10),
    "Intersection-v0": EnvEntry("driving", None, 10),
    "SlateRec-v0": EnvEntry("recommendation", None, 20),
}

# our name -> what ends an episode before its time limit (None: only the time limit).
# A terminated episode's last clip is padded with its absorbing state, so people and
# teachers see the end, and the learned reward is anchored so that the state after it is
# worth 0 (feedback.segments, feedback.reward_model.model): staying alive, or not
# crashing, is then worth what the labels say, not an accident of the reward's level.
EPISODE_ENDS = {
    "HalfCheetah-v0": None,
    "Hopper-v0": "the hopper falls (unhealthy height or angle)",
    "Walker2d-v0": "the walker falls (unhealthy height or angle)",
    "Ant-v0": "the ant is unhealthy (torso too low or too high)",
    "Reacher-v0": None,
    "Swimmer-v0": None,
    "Highway-v0": "the car crashes",
    "Merge-v0": "the car crashes",
    "Roundabout-v0": "the car crashes",
    "Intersection-v0": "the car crashes or arrives",
    "SlateRec-v0": "the user's time budget runs out (the session's natural end)",
}


def episode_end(env_id: str) -> str | None:
    """What ends an episode of ``env_id`` before its time limit, None if nothing does."""
    return EPISODE_ENDS[env_name(env_id)]


def env_name(env_id: str, domain: str | None = None) -> str:
    """Our short name of ``env_id`` (with or without the namespace); the one name check.

    :param env_id: an id such as ``rlhf_envs/Reacher-v0`` or ``Reacher-v0``
    :param domain: if given, the id must be one of this domain's
    :return: the name without the namespace
    :raises FeedbackError: one line listing the ids to choose from
    """
    name = str(env_id).removeprefix(f"{NAMESPACE}/")
    known = [n for n, entry in ENVS.items() if domain in (None, entry.domain)]
    if name not in known:
        what = f"{domain} env" if domain else "env"
        raise FeedbackError(f"unknown {what} {env_id!r}; choose one of: "
                            f"{', '.join(f'{NAMESPACE}/{n}' for n in known)}")
    return name


def _domain_attr(name: str, index: int):
    module, *attrs = DOMAINS[ENVS[name].domain]
    return getattr(importlib.import_module(module), attrs[index - 1])


def segment_length(env_id: str) -> int:
    """Steps per segment of ``env_id`` by default: its row of :data:`ENVS`."""
    return ENVS[env_name(env_id)].segment_length


def make_env(
    name: str,
    reward_model: RewardFunctionLike = None,
    normalize_reward: bool = False,
    warn_without_model: bool = True,
    **env_kwargs,
) -> gym.Env:
    """Entry point of every id: the domain env wrapped in :class:`LearnedReward`.

    :param name: the env's name (``rlhf_envs/`` optional)
    :param reward_model: anything with ``predict(obs, acts, next_obs)``, a saved model's
        path, or None (reward 0.0)
    :param normalize_reward: scale rewards by the running std of their discounted return
    :param warn_without_model: warn once if the env steps without a model
    :param env_kwargs: the domain env's own options
    """
    name = env_name(name)
    env = _domain_attr(name, 1)(name, **env_kwargs)
    return LearnedReward(env, reward_model, env_id=f"{NAMESPACE}/{name}",
                         normalize_reward=normalize_reward,
                         warn_without_model=warn_without_model)


def make_clip_renderer(env_id: str, width: int = 128, height: int = 128) -> ClipRenderer:
    """The renderer that re-draws segments of ``env_id`` from their render states."""
    name = env_name(env_id)
    return _domain_attr(name, 2)(f"{NAMESPACE}/{name}", width=width, height=height)


def clip_guide(env_id: str) -> ClipGuide:
    """What a person judging ``env_id``'s clips is told: task, legend, pace (its domain's)."""
    name = env_name(env_id)
    return _domain_attr(name, 3)[name]


def register_envs() -> None:
    """Register every id with gymnasium (idempotent)."""
    for name, entry in ENVS.items():
        env_id = f"{NAMESPACE}/{name}"
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="rlhf_envs.registration:make_env",
                         kwargs={"name": name}, max_episode_steps=entry.max_episode_steps)
