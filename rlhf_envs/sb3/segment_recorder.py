"""SegmentRecorder: a VecEnv wrapper that cuts what the agent lives through into segments.

It sits on the outside of the stack (above :class:`LearnedRewardVecEnv`) and keeps, per
env, the observation before each action, the action, the next observation (the real
one at an episode's end), the hidden true reward and its terms, and the render state.
Every ``segment_length`` steps of one episode become a :class:`~feedback.segments.Segment`
(segments never cross episodes). An episode that terminates (not one cut off by a time
limit) also gives its unfinished last segment, padded with the absorbing state
(:func:`~feedback.segments.pad_to_length`), so failures are seen and compared. It also
keeps the true and learned return of each finished episode, which the training loop
monitors.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from feedback.errors import check_count
from feedback.segments import DEFAULT_SEGMENT_LENGTH, Segment, pad_to_length
from rlhf_envs.clips import RENDER_STATE, REWARD_TERMS, TRUE_REWARD


class _Track:
    """The unfinished segment and episode of one env."""

    def __init__(self, episode: int) -> None:
        self.episode = episode  # numbered in the order episodes start
        self.steps: list[tuple] = []
        self.true_return = 0.0
        self.learned_return = 0.0
        self.start = 0  # step of the episode at which the current segment starts


def steps_to_segment(steps: list[tuple], env_id: str, source: str, episode: int, start: int,
                     **extra) -> Segment:
    """A segment made of consecutive steps of one episode.

    Each step is ``(obs, action, next_obs, true_reward, reward_terms, render_state)``;
    ``render_state`` None means no render states are kept. ``extra`` goes to
    :class:`~feedback.segments.Segment` (e.g. its ``id``).
    """
    obs, acts, next_obs, true_rewards, terms, states = zip(*steps)
    return Segment(
        obs=np.array(obs), acts=np.array(acts), next_obs=np.array(next_obs),
        true_rewards=np.array(true_rewards, dtype=np.float64),
        reward_terms={k: np.array([t[k] for t in terms]) for k in terms[0]},
        render_states=None if states[0] is None else np.array(states),
        env_id=env_id, source=source, episode=episode, start=start, **extra,
    )


class SegmentRecorder(VecEnvWrapper):
    """Record segments of ``segment_length`` steps from every env of ``venv``.

    ``source`` labels the segments (``"random"``, ``"policy"``); it can be changed
    between phases. :meth:`drain` hands over the segments finished so far. With ``rng``,
    segment ids are drawn from it (reproducible runs); otherwise they are random uuids.
    """

    def __init__(
        self,
        venv: VecEnv,
        env_id: str,
        segment_length: int = DEFAULT_SEGMENT_LENGTH,
        source: str = "policy",
        episodes_kept: int = 100,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(venv)
        self.env_id = env_id
        self.segment_length = check_count("segment length", segment_length, 1)
        self.source = source
        self.episode_true_returns: deque[float] = deque(maxlen=episodes_kept)
        self.episode_learned_returns: deque[float] = deque(maxlen=episodes_kept)
        self._segments: list[Segment] = []
        self._rng = rng  # segment ids from a seeded generator make runs reproducible
        self._episodes = 0
        self._tracks = [self._new_track() for _ in range(self.num_envs)]
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        """Reset every env; unfinished segments and episodes are dropped."""
        self._obs = self.venv.reset()
        self._tracks = [self._new_track() for _ in range(self.num_envs)]
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        """Keep the actions for the segments, and send them to the envs."""
        self._actions = np.asarray(actions)
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """Wait for the envs and record the step; what they return passes through unchanged.

        Every ``segment_length`` steps of an env's episode become a segment. An episode
        that terminates pads its unfinished segment with the absorbing state (one cut off
        by a time limit drops it); either way the episode's true and learned return are
        kept.
        """
        obs, rewards, dones, infos = self.venv.step_wait()
        for i, (track, info) in enumerate(zip(self._tracks, infos)):
            next_obs = info["terminal_observation"] if dones[i] else obs[i]
            track.steps.append((self._obs[i], self._actions[i], next_obs, info[TRUE_REWARD],
                                info.get(REWARD_TERMS, {}), info.get(RENDER_STATE)))
            track.true_return += info[TRUE_REWARD]
            track.learned_return += float(rewards[i])
            terminated = bool(dones[i]) and not info.get("TimeLimit.truncated", False)
            if len(track.steps) == self.segment_length:
                self._segments.append(self._cut(track, ended=terminated))
                track.start += self.segment_length
                track.steps = []
            elif terminated:
                self._segments.append(self._cut(track, ended=True))
            if dones[i]:
                self.episode_true_returns.append(track.true_return)
                self.episode_learned_returns.append(track.learned_return)
                self._tracks[i] = self._new_track()
        self._obs = obs
        return obs, rewards, dones, infos

    def _new_track(self) -> _Track:
        self._episodes += 1
        return _Track(self._episodes - 1)

    def _cut(self, track: _Track, ended: bool = False) -> Segment:
        segment = steps_to_segment(
            track.steps, self.env_id, self.source, track.episode, track.start,
            **({} if self._rng is None else {"id": self._rng.bytes(16).hex()}),
        )
        return pad_to_length(segment, self.segment_length) if ended else segment

    def reseed_ids(self, rng: np.random.Generator) -> None:
        """Draw segment ids from ``rng`` from now on (e.g. a resumed run's own stream)."""
        self._rng = rng

    def drain(self) -> list[Segment]:
        """The segments finished since the last call."""
        segments, self._segments = self._segments, []
        return segments
