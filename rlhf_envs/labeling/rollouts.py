"""Fresh segments for labeling: rollouts of a random policy or of a trained agent.

Render states are kept, so their clips can be drawn; no reward model is asked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import DummyVecEnv

from feedback.errors import FeedbackError
from feedback.segments import Segment
from feedback.ui.sessions import MakeRenderer
from rlhf_envs.registration import clip_guide, make_clip_renderer
from rlhf_envs.sb3.checkpoint import load_policy
from rlhf_envs.sb3.learned_reward_vec_env import LearnedRewardVecEnv
from rlhf_envs.sb3.obs_normalization import NormalizedObsPolicy
from rlhf_envs.sb3.segment_recorder import SegmentRecorder

SEGMENT_ID_STREAM = 2  # the rollouts' own stream of segment ids, apart from the loop's
PROGRESS_EVERY = 25  # steps between progress reports


def clip_renderer(env_id: str) -> MakeRenderer:
    """A session's ``make_renderer``: clips of ``env_id`` of a given width.

    Their height follows the env's :class:`~feedback.ui.pairs.ClipGuide` aspect (a road's
    clips are wide, a robot's square).
    """
    aspect = clip_guide(env_id).aspect
    return lambda size: make_clip_renderer(env_id, size, max(32, round(size / aspect)))


def rollout_segments(
    env_id: str,
    steps: int,
    segment_length: int,
    seed: int,
    env_kwargs: dict | None = None,
    policy: BasePolicy | NormalizedObsPolicy | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Segment]:
    """Segments of ``policy`` acting in ``env_id`` for ``steps`` steps, render states kept.

    :param env_id: the env to roll out
    :param steps: env steps in all (episodes restart as they end)
    :param segment_length: steps per segment
    :param seed: seeds the env, the random actions and the segment ids
    :param env_kwargs: options for ``gym.make``
    :param policy: an SB3 policy (as :func:`load_policy` gives it: on raw observations);
        random actions when None
    :param progress: told what the rollout is doing ("rolling out 120/400 steps...")
    """
    venv = DummyVecEnv([lambda: gym.make(env_id, **(env_kwargs or {}))])
    unrewarded = LearnedRewardVecEnv(venv, env_id=env_id, warn_without_model=False)
    recorder = SegmentRecorder(unrewarded, env_id, segment_length,
                               source="random" if policy is None else "policy",
                               rng=np.random.default_rng([seed, SEGMENT_ID_STREAM]))
    recorder.seed(seed)
    recorder.action_space.seed(seed)
    name = env_id.split("/")[-1]
    try:  # a progress report may end the rollout (a session closing): the env closes too
        obs = recorder.reset()
        for step in range(steps):
            if progress is not None and step % PROGRESS_EVERY == 0:
                progress(f"rolling out {name}: {step}/{steps} steps...")
            if policy is None:
                action = np.array([recorder.action_space.sample()])
            else:
                action, _ = policy.predict(obs, deterministic=False)
            obs, _, _, _ = recorder.step(action)
    finally:
        recorder.close()
    if progress is not None:
        progress(f"rolled out {name}: {steps}/{steps} steps")
    return recorder.drain()


def load_run_policy(where: Path, env_id: str) -> BasePolicy | NormalizedObsPolicy:
    """The policy of a training run directory, or of its ``checkpoint/agent`` directory."""
    found = where / "checkpoint" / "agent" if (where / "checkpoint" / "agent").exists() else where
    if not found.exists():
        raise FeedbackError(f"--policy {where}: no such file or directory")
    env = gym.make(env_id, warn_without_model=False)
    try:
        return load_policy(found, env)
    finally:
        env.close()
