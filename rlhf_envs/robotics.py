"""Robotics: gymnasium's MuJoCo v5 tasks, with their reward kept as the hidden true reward.

The true reward is the v5 reward; its terms are the env's ``reward_*`` info entries
(forward, ctrl, survive, contact, dist). The render state is the physics state (qpos
then qvel), so a clip is re-drawn by setting the state and rendering: no pixels are made
during rollouts. :class:`MujocoClipRenderer` uses ``mujoco.Renderer`` with shadows and
reflections off and a camera that tracks the body; gymnasium's default ``render()`` path
is about 10x slower on a CPU (see BENCHMARKS.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"  # headless: render offscreen (Mesa on CPU machines)

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium.envs.registration import load_env_creator  # noqa: E402

from feedback.errors import FeedbackError  # noqa: E402
from feedback.ui.pairs import ClipGuide  # noqa: E402
from rlhf_envs.clips import ClipRenderer, task_info  # noqa: E402
from rlhf_envs.registration import env_name  # noqa: E402

# Our name -> gymnasium id, and the reward terms each v5 env reports.
ROBOTICS_ENVS = {
    "HalfCheetah-v0": "HalfCheetah-v5",
    "Hopper-v0": "Hopper-v5",
    "Walker2d-v0": "Walker2d-v5",
    "Ant-v0": "Ant-v5",
    "Reacher-v0": "Reacher-v5",
    "Swimmer-v0": "Swimmer-v5",
}
REWARD_TERMS = {
    "HalfCheetah-v0": ("forward", "ctrl"),
    "Hopper-v0": ("forward", "ctrl", "survive"),
    "Walker2d-v0": ("forward", "ctrl", "survive"),
    "Ant-v0": ("forward", "ctrl", "survive", "contact"),
    "Reacher-v0": ("dist", "ctrl"),
    "Swimmer-v0": ("forward", "ctrl"),
}

_FOLLOWED = "The camera follows the body; the floor's grid shows how far it has moved."
_FELL = "episode over: it fell"
MUJOCO_PIXELS = 256  # clip width: drawing two 50-frame clips takes ~1.2 s on a CPU
# What a person judging a clip is told (no reward figures: a rater of the real robot
# sees the robot). Playback is slowed where real time is too quick to follow (Hopper and
# Walker2d step 125 times a second, Reacher 50).


def _guide(task: str, fps: float, legend: str = _FOLLOWED,
           ended: str = "episode over") -> ClipGuide:
    """A MuJoCo env's guide: a picture of a scene, drawn small, enlarged smoothly."""
    return ClipGuide(task, [legend], fps=fps, ended=ended, smooth=True, pixels=MUJOCO_PIXELS)


CLIP_GUIDES = {
    "HalfCheetah-v0": _guide("Run forward (to the right) as fast as possible, without "
                             "wasting effort.", fps=20),
    "Hopper-v0": _guide("Hop forward (to the right) as fast as possible without falling.",
                        fps=40, ended=_FELL),
    "Walker2d-v0": _guide("Walk forward (to the right) as fast as possible without falling.",
                          fps=40, ended=_FELL),
    "Ant-v0": _guide("Walk forward (along the x axis) as fast as possible and stay upright.",
                     fps=20, ended=_FELL),
    "Reacher-v0": _guide("Bring the arm's tip (the small green ball) onto the red target "
                         "quickly and hold it there, with little effort.", fps=12,
                         legend="Seen from above: the blue arm turns at its two joints inside "
                                "the pink square; the small red ball is the target."),
    "Swimmer-v0": _guide("Swim forward (to the right) as fast as possible.", fps=25),
}


def _gymnasium_id(env_id: str) -> str:
    return ROBOTICS_ENVS[env_name(env_id, "robotics")]


# MuJoCo 3.3+ warns that gymnasium's half_cheetah.xml uses the compiler attribute
# ``settotalmass``. The model is gymnasium's (its masses are what the task means), so the
# one message is dropped while we compile it; any other MuJoCo warning is printed as
# MuJoCo prints it.
_KNOWN_WARNINGS = ("compiler attribute 'settotalmass' is deprecated",)


@contextmanager
def _quiet_known_warnings() -> Iterator[None]:
    """While compiling a model: drop MuJoCo's warnings about gymnasium's own XML files."""
    previous = mujoco.get_mju_user_warning()

    def warn(message: str) -> None:
        if not message.startswith(_KNOWN_WARNINGS):
            if previous is not None:
                previous(message)
            else:
                print(f"WARNING: {message}", file=sys.stderr)

    mujoco.set_mju_user_warning(warn)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)


def base_env(name: str, render_mode: str | None = None, **kwargs) -> gym.Env:
    """The bare MuJoCo env (no gymnasium wrappers), built from its registered entry point."""
    spec = gym.spec(_gymnasium_id(name))
    creator = load_env_creator(spec.entry_point)
    with _quiet_known_warnings():
        return creator(**{**spec.kwargs, **kwargs}, render_mode=render_mode)


def max_episode_steps(name: str) -> int | None:
    """The step limit gymnasium registers for the MuJoCo task behind ``name``."""
    return gym.spec(_gymnasium_id(name)).max_episode_steps


class MujocoTask(gym.Wrapper):
    """Adds ``true_reward``, ``reward_terms`` and ``render_state`` (qpos, qvel) to infos."""

    def __init__(self, env: gym.Env, name: str) -> None:
        super().__init__(env)
        self.terms = REWARD_TERMS[name]

    def _render_state(self) -> np.ndarray:
        data = self.env.unwrapped.data
        return np.concatenate([data.qpos, data.qvel])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset the MuJoCo env; ``info`` gains the contract's keys (zero reward terms)."""
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, task_info(info, 0.0, dict.fromkeys(self.terms, 0.0), self._render_state())

    def step(self, action):
        """Step the MuJoCo env; ``info`` gains the contract's keys (its ``reward_*`` terms)."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        terms = {k: info[f"reward_{k}"] for k in self.terms}
        return obs, reward, terminated, truncated, task_info(
            info, reward, terms, self._render_state())


def make_robotics_env(name: str, render_mode: str | None = None, **kwargs) -> gym.Env:
    """A MuJoCo v5 task following the contract of ``rlhf_envs.clips``."""
    return MujocoTask(base_env(name, render_mode=render_mode, **kwargs), env_name(name))


class MujocoClipRenderer(ClipRenderer):
    """Draws MuJoCo frames from (qpos, qvel) render states with a tracking camera."""

    def __init__(self, env_id: str, width: int = 128, height: int = 128) -> None:
        super().__init__(env_id, width, height)
        self._env = base_env(env_id, width=width, height=height)
        model = self._env.unwrapped.model
        self._model, self._data = model, mujoco.MjData(model)
        self._renderer = mujoco.Renderer(model, height, width)
        self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        self._camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(model, self._camera)
        config = dict(self._env.unwrapped.mujoco_renderer.default_cam_config or {})
        if config.get("trackbodyid", 1) != 0:  # follow the robot unless the env fixes the view
            self._camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
            self._camera.trackbodyid = config.pop("trackbodyid", 1)
        config.pop("trackbodyid", None)
        config.pop("type", None)
        for key, value in config.items():
            if isinstance(value, np.ndarray):
                getattr(self._camera, key)[:] = value
            else:
                setattr(self._camera, key, value)

    def draw(self, render_state: np.ndarray) -> np.ndarray:
        """One frame ``(height, width, 3)`` uint8 of the physics set to a (qpos, qvel) state."""
        nq, nv = self._model.nq, self._model.nv
        if render_state.shape != (nq + nv,):
            raise FeedbackError(
                f"render state of shape {render_state.shape} does not fit {self.env_id} "
                f"(expects {nq + nv} values: qpos then qvel)"
            )
        self._data.qpos[:] = render_state[:nq]
        self._data.qvel[:] = render_state[nq:]
        mujoco.mj_forward(self._model, self._data)
        self._renderer.update_scene(self._data, self._camera)
        return self._renderer.render().copy()

    def close(self) -> None:
        """Free the MuJoCo renderer and close the env it came from."""
        self._renderer.close()
        self._env.close()
