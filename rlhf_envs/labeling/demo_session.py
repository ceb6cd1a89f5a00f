"""Demonstrations (``--mode demo``): a person acts in a driving or recommendation env.

:class:`DemoSession` is the :class:`~feedback.ui.demo_player.DemoSource` of the player: it
steps one of our envs with the actions the person's keys stand for, and every
``segment_length`` steps of one episode become a segment of source ``"demo"``, stored as
a demonstration (committed before the next step shows). Segments never cross episodes.
An episode that terminates (a crash, the user leaving) shows its last picture with what
happened for a moment, and its unfinished last segment is stored padded with the
absorbing state (:func:`feedback.segments.pad_to_length`), as the training loop's
recorder does; one cut off by a time limit drops its unfinished steps. The training
loop prefers demonstrations over agent segments (:mod:`feedback.training_pairs`).

Controls, by domain:

- driving (real time, two steps a second): Left/Right change lane, Up faster, Down
  slower, no key keeps going (highway-env's meta-actions; a scenario without lane
  changes has no Left/Right);
- recommendation (turn by turn): number keys pick candidates for the slate in order,
  Backspace takes the last pick back; a full slate is shown to the user.

Robotics envs have continuous joint torques, which no keyboard can drive: their
feedback is comparisons and ratings.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from feedback.errors import FeedbackError
from feedback.segments import pad_to_length
from feedback.store import FeedbackStore
from feedback.ui.demo_player import Scene
from feedback.ui.pairs import Tally
from rlhf_envs.clips import RENDER_STATE, REWARD_TERMS, TRUE_REWARD
from rlhf_envs.registration import ENVS, clip_guide, env_name, make_clip_renderer
from rlhf_envs.registration import segment_length as default_segment_length
from rlhf_envs.sb3.segment_recorder import steps_to_segment

DEMO_DOMAINS = ("driving", "recommendation")
END_HOLD_SECONDS = 2.0  # an episode's last picture stays this long (real time)
_LANE_KEYS = {"left": "LANE_LEFT", "right": "LANE_RIGHT", "up": "FASTER", "down": "SLOWER"}


def check_demo_env(env_id: str) -> None:
    """Raise a one-line FeedbackError unless a person can act in ``env_id`` with keys."""
    if ENVS[env_name(env_id)].domain not in DEMO_DOMAINS:
        raise FeedbackError(f"--mode demo is for driving and recommendation envs, not "
                            f"{env_id} (its actions are continuous torques): compare or "
                            "rate its clips instead")


class DrivingControls:
    """Arrow keys -> highway-env meta-actions; the env steps twice a second."""

    step_seconds = 0.5

    def __init__(self, env: gym.Env) -> None:
        self._indexes = env.unwrapped.action_type.actions_indexes  # name -> action
        self.controls = {key: name.lower().replace("_", " ")
                         for key, name in _LANE_KEYS.items() if name in self._indexes}

    def action(self, key: str | None, obs: np.ndarray) -> int:
        """The meta-action of ``key``; no key (None) keeps lane and speed (``IDLE``)."""
        return self._indexes[_LANE_KEYS[key]] if key else self._indexes["IDLE"]

    def lines(self, obs: np.ndarray) -> list[str]:
        """The instructions shown beside the road."""
        return ["Drive as you think a good driver should.", "No key: keep lane and speed."]


class SlateControls:
    """Number keys pick candidates for the slate, best first; Backspace unpicks."""

    step_seconds = None

    def __init__(self, env: gym.Env) -> None:
        base = env.unwrapped
        self.slate_size, self.candidates, self.topics = base.K, base.C, base.T
        self.doc_size = base.doc_size
        if self.candidates > 10:
            raise FeedbackError(f"demonstrations pick candidates with the number keys, so at "
                                f"most 10 candidates, not {self.candidates}")
        self.controls = {str((i + 1) % 10): f"pick {i + 1}" for i in range(self.candidates)}
        self.controls["backspace"] = "unpick"
        self.picked: list[int] = []

    def action(self, key: str | None, obs: np.ndarray) -> np.ndarray | None:
        """The scores of a full slate, or None while the person is still picking."""
        if key == "backspace":
            self.picked = self.picked[:-1]
            return None
        if key is None:
            return None
        index = (int(key) - 1) % 10
        if index not in self.picked:
            self.picked.append(index)
        if len(self.picked) < self.slate_size:
            return None
        scores = np.full(self.candidates, -1.0, np.float32)
        scores[self.picked] = np.linspace(1.0, 0.5, self.slate_size)
        self.picked = []
        return scores

    def lines(self, obs: np.ndarray) -> list[str]:
        """What the person picks by: the user's interests and each candidate's features."""
        t, size = self.topics, self.doc_size
        interests = [f"{v:+.1f}" for v in obs[:t]]
        lines = [f"Pick {self.slate_size} for the slate, best first.",
                 "The user's interest in topics 0, 1, ... (the bars):"]
        lines += ["    " + " ".join(interests[k : k + 6]) for k in range(0, t, 6)]
        lines.append("key  topic  appeal  rating  length")
        for c in range(self.candidates):
            doc = obs[t + c * size : t + (c + 1) * size]
            mark = f"  <- #{self.picked.index(c) + 1}" if c in self.picked else ""
            lines.append(f"{(c + 1) % 10:>3}  {int(doc[:t].argmax()):>5}  {doc[t]:6.2f}  "
                         f"{doc[t + 1]:+6.2f}  {doc[t + 2]:6.2f}{mark}")
        return lines


class DemoSession:
    """Record ``planned`` demonstration segments of ``env_id`` by ``annotator``."""

    def __init__(self, store: FeedbackStore, env_id: str, annotator: str, planned: int, *,
                 segment_length: int | None = None, seed: int = 0, frame_size: int = 256,
                 env_kwargs: dict | None = None) -> None:
        check_demo_env(env_id)
        name = env_name(env_id)
        self.store, self.env_id, self.annotator = store, env_id, annotator
        self.planned, self.recorded = planned, 0
        self.segment_length = segment_length or default_segment_length(env_id)
        self.env = gym.make(env_id, warn_without_model=False, **(env_kwargs or {}))
        domain = ENVS[name].domain
        self.controller = (DrivingControls if domain == "driving" else SlateControls)(self.env)
        self.controls, self.step_seconds = self.controller.controls, self.controller.step_seconds
        guide = clip_guide(env_id)
        self._ended_as = guide.ended
        self._renderer = make_clip_renderer(env_id, frame_size,
                                            max(32, round(frame_size / guide.aspect)))
        # Episodes seeded by what the store holds: a session started again sees new ones.
        self._rng = np.random.default_rng([seed, len(store.segment_ids())])
        self._episode, self._steps, self._note, self._over = -1, [], "", False
        self._before = sum(d.annotator == annotator for d in store.demonstrations())

    def _reset(self) -> None:
        self._episode += 1
        self._obs, info = self.env.reset(seed=int(self._rng.integers(2**31)))
        self._state, self._steps, self._start = info[RENDER_STATE], [], 0

    def start(self) -> Scene:
        """Start a new episode; its first scene."""
        self._reset()
        return self._scene()

    def act(self, key: str | None) -> Scene | None:
        """Step the env with the action ``key`` stands for; the next scene, or None when done.

        A key that does not complete an action (a slate still being picked) only redraws
        the scene. Every ``segment_length`` steps of one episode are stored as a
        demonstration before this returns. When an episode terminates, its unfinished
        segment is stored padded, and its last picture is shown with what happened (held
        ``END_HOLD_SECONDS``); the next call starts a new episode. An episode cut off by
        its time limit drops its unfinished steps.
        """
        if self._over:  # the end was shown: a new episode
            self._over = False
            self._reset()
            return self._scene()
        action = self.controller.action(key, self._obs)
        if action is None:
            return self._scene()
        obs, _, terminated, truncated, info = self.env.step(action)
        self._steps.append((self._obs, action, obs, info[TRUE_REWARD],
                            info.get(REWARD_TERMS, {}), info[RENDER_STATE]))
        self._obs, self._state, self._note = obs, info[RENDER_STATE], ""
        if len(self._steps) == self.segment_length or (terminated and self._steps):
            segment = steps_to_segment(self._steps, self.env_id, "demo", self._episode,
                                       self._start)
            if terminated:
                segment = pad_to_length(segment, self.segment_length)
            self.store.add_demonstration(segment, self.annotator)
            self.recorded += 1
            self._start += self.segment_length
            self._steps = []
            if self.recorded >= self.planned:
                return None
        if terminated or truncated:
            if self._steps:
                self._note = (f"The episode ran out of time: its last {len(self._steps)} "
                              "steps were too few for a demonstration and are dropped.")
            self._over = True
            ended = self._ended_as if terminated else "episode over: time is up"
            return Scene(**{**vars(self._scene()), "banner": ended,
                            "hold": END_HOLD_SECONDS if self.step_seconds else 0.0})
        return self._scene()

    def _scene(self) -> Scene:
        title = (f"Demonstration {self.recorded + 1} of {self.planned}: step "
                 f"{len(self._steps) + 1} of {self.segment_length}")
        lines = self.controller.lines(self._obs) + ([self._note] if self._note else [])
        return Scene(self._renderer.draw(self._state), title, lines)

    def progress(self) -> tuple[int, int]:
        """``(demonstrations recorded, planned)``."""
        return self.recorded, self.planned

    def tally(self, final: bool = False) -> Tally:
        """Demonstrations recorded, planned, and this annotator's in the store."""
        return Tally(self.recorded, planned=self.planned, in_store=self._before + self.recorded)

    def close(self) -> None:
        """Free the renderer and close the env (the store stays open)."""
        self._renderer.close()
        self.env.close()
