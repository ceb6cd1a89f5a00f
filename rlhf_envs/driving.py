"""Driving environments on highway-env, with their true reward and a clip renderer.

Four scenarios, each highway-env's own env behind a thin :class:`DrivingEnv` wrapper
that follows the contract of :mod:`rlhf_envs.clips`: the reward is highway-env's reward,
``info["reward_terms"]`` its ``info["rewards"]``, and ``info["render_state"]`` a fixed
length vector of the vehicles on the road (see :func:`render_state`), from which
:class:`DrivingClipRenderer` re-draws the frame with highway-env's own graphics, without
stepping any simulation.

Observation and action spaces are highway-env's defaults (Kinematics, DiscreteMetaAction).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import highway_env  # noqa: F401  (registers highway-env's ids with gymnasium)
import numpy as np
import pygame
from highway_env.envs.common.graphics import EnvViewer
from highway_env.road.graphics import RoadGraphics, WorldSurface
from highway_env.vehicle.behavior import IDMVehicle
from highway_env.vehicle.graphics import VehicleGraphics

from feedback.errors import FeedbackError
from feedback.ui.pairs import ClipGuide
from rlhf_envs.clips import ClipRenderer, task_info
from rlhf_envs.registration import env_name

DRIVING_ENVS: dict[str, str] = {
    "Highway-v0": "highway-fast-v0",
    "Merge-v0": "merge-v1",
    "Roundabout-v0": "roundabout-v1",
    "Intersection-v0": "intersection-v2",
}
"""Our name -> highway-env id. merge-v1, roundabout-v1 and intersection-v2 are the
current discrete-action versions (highway-env 1.12's connected-lane neighbour search);
intersection-v1 is the continuous-action variant, a different task."""

_CARS = ("Your car is the green one (the view follows it); blue cars are other traffic, a "
         "red car has crashed.")
_STEP = "One frame is one second of driving (a step of the policy)."
_CRASHED = "episode over: crashed"
# What a person judging a clip is told. Roads are wide: highway and merge clips are drawn
# 2.5 times as wide as high, so lanes and cars are large; one step is one second, so clips
# play at two frames a second.
CLIP_GUIDES = {
    "Highway-v0": ClipGuide("Drive fast, change lanes safely, never crash.", [_CARS, _STEP],
                            fps=2, ended=_CRASHED, aspect=2.5),
    "Merge-v0": ClipGuide("Keep up speed and let the merging cars in; never crash.",
                          [_CARS, _STEP], fps=2, ended=_CRASHED, aspect=2.5),
    "Roundabout-v0": ClipGuide("Go through the roundabout without stopping; never crash.",
                               [_CARS, _STEP], fps=2, ended=_CRASHED),
    "Intersection-v0": ClipGuide("Cross the intersection to your exit without waiting "
                                 "long; never crash.", [_CARS, _STEP], fps=2,
                                 ended="episode over: crashed or arrived"),
}


class IntersectionIDMVehicle(IDMVehicle):
    """IDM traffic for the intersection, a class of its own.

    highway-env's intersection sets ``DISTANCE_WANTED``, ``COMFORT_ACC_MAX`` and
    ``COMFORT_ACC_MIN`` on the *class* of its other vehicles at every reset. With the
    shared ``IDMVehicle`` that changes the traffic of every other scenario made later
    in the same process; on this subclass it stays inside the intersection.
    """


_DEFAULT_CONFIG: dict[str, dict[str, Any]] = {
    "Intersection-v0": {
        "other_vehicles_type": f"{__name__}.{IntersectionIDMVehicle.__qualname__}"
    },
}

# Width of road the renderer shows across a frame [m], whatever its size in pixels.
_VIEW_METRES = {"Highway-v0": 50.0, "Merge-v0": 60.0, "Roundabout-v0": 80.0,
                "Intersection-v0": 84.0}

MAX_VEHICLES = 24
"""Vehicles a render state holds: the ego vehicle and its 23 nearest others."""
VEHICLE_FIELDS = ("present", "x", "y", "heading", "speed", "crashed")
"""Per-vehicle fields of a render state, in order (heading in rad, speed in m/s)."""
RENDER_STATE_SIZE = MAX_VEHICLES * len(VEHICLE_FIELDS)


def _make_highway(name: str, config: dict | None = None, render_mode: str | None = None):
    """highway-env's env of scenario ``name`` with our defaults updated by ``config``."""
    name = env_name(name, "driving")
    merged = {**_DEFAULT_CONFIG.get(name, {}), **(config or {})}
    return gym.make(DRIVING_ENVS[name], config=merged, render_mode=render_mode)


def render_state(road: Any, ego: Any) -> np.ndarray:
    """The vehicles of ``road`` as a flat ``(MAX_VEHICLES * 6,)`` float64 vector.

    Row ``i`` of its ``(MAX_VEHICLES, 6)`` reshape is ``VEHICLE_FIELDS`` of one vehicle:
    row 0 the ego vehicle, then the others nearest first; absent rows are all zeros.
    Far vehicles beyond ``MAX_VEHICLES`` are left out (they are off screen).
    """
    others = [v for v in road.vehicles if v is not ego]
    if len(others) >= MAX_VEHICLES:
        distance = [float(np.sum((v.position - ego.position) ** 2)) for v in others]
        others = [others[i] for i in np.argsort(distance, kind="stable")]
    state = np.zeros((MAX_VEHICLES, len(VEHICLE_FIELDS)))
    for row, v in zip(state, [ego, *others][:MAX_VEHICLES]):
        row[:] = 1.0, v.position[0], v.position[1], v.heading, v.speed, float(v.crashed)
    return state.ravel()


class DrivingEnv(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A highway-env env that reports the contract's ``info`` keys.

    The spaces are taken once, at construction: highway-env builds new space objects at
    every reset, which would drop a seed given to ``env.action_space.seed()``. It records
    its constructor arguments so that ``env.spec`` can re-make it (gymnasium's checker).
    """

    def __init__(self, env: gym.Env) -> None:
        gym.Wrapper.__init__(self, env)
        gym.utils.RecordConstructorArgs.__init__(self)
        self.observation_space = env.observation_space
        self.action_space = env.action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset highway-env; ``info`` gains the contract's keys (zero reward terms)."""
        obs, info = self.env.reset(seed=seed, options=options)
        terms = {key: 0.0 for key in info.get("rewards", {})}
        task_info(info, 0.0, terms, self.render_state())
        return obs, info

    def step(self, action: Any):
        """Step highway-env; ``info`` gains the contract's keys (its ``rewards`` as terms)."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward = float(reward)
        task_info(info, reward, info.get("rewards", {}), self.render_state())
        return obs, reward, terminated, truncated, info

    def render_state(self) -> np.ndarray:
        """The current render state (see :func:`render_state`)."""
        return render_state(self.env.unwrapped.road, self.env.unwrapped.vehicle)

    def render(self) -> Any:
        """highway-env's render, but not blank under ``SDL_VIDEODRIVER=dummy``.

        highway-env's viewer skips all drawing when the SDL driver is "dummy", so its
        ``rgb_array`` frames come out black on headless machines; we switch it back on.
        """
        base = self.env.unwrapped
        if base.render_mode == "rgb_array" and base.viewer is None:
            base.viewer = EnvViewer(base)
            base.viewer.enabled = True
        return self.env.render()


def make_driving_env(
    name: str, config: dict | None = None, render_mode: str | None = None
) -> gym.Env:
    """The driving env ``name`` (a key of ``DRIVING_ENVS``, namespace optional).

    ``config`` updates highway-env's config, e.g. ``{"vehicles_count": 10,
    "duration": 15}``. ``close()`` is highway-env's, which calls ``pygame.quit()`` if the
    env has rendered.
    """
    return DrivingEnv(_make_highway(name, config, render_mode))


class _Drawn:
    """What highway-env's ``VehicleGraphics.display`` reads of a vehicle, and no more.

    Real ``Vehicle`` objects look up their lane on construction, which is slow; these are
    made once and moved to each frame's positions.
    """

    LENGTH, WIDTH = IDMVehicle.LENGTH, IDMVehicle.WIDTH

    def __init__(self) -> None:
        self.position = np.zeros(2)
        self.heading = self.speed = 0.0
        self.crashed = False
        self.color: tuple[int, int, int] = VehicleGraphics.BLUE


class DrivingClipRenderer(ClipRenderer):
    """Re-draws driving clips from render states with highway-env's graphics.

    It keeps the scenario's road (made once, from a private env reset with seed 0: the
    road network of each scenario is fixed) and draws lanes, road objects and the stored
    vehicles on a pygame surface centred on the ego vehicle: ego green, others blue,
    crashed red. It uses no window and no ``EnvViewer``, so it never calls
    ``pygame.quit()`` and can draw beside a running pygame viewer. Pass the same
    ``config`` as the env if it changes the road (``lanes_count`` of Highway-v0).
    """

    def __init__(
        self, env_id: str, width: int = 128, height: int = 128, config: dict | None = None
    ) -> None:
        super().__init__(env_id, width, height)
        name = env_name(env_id, "driving")
        env = _make_highway(name, config)
        env.reset(seed=0)
        base = env.unwrapped
        self._road = base.road
        self._road.vehicles = []
        centering = list(base.config["centering_position"])
        env.close()
        self._surface: WorldSurface | None = WorldSurface(
            (self.width, self.height), 0, pygame.Surface((self.width, self.height))
        )
        self._surface.scaling = self.width / _VIEW_METRES[name]
        self._surface.centering_position = centering
        self._vehicles = [_Drawn() for _ in range(MAX_VEHICLES)]

    def draw(self, render_state: np.ndarray) -> np.ndarray:
        """One frame ``(height, width, 3)`` uint8 of one render state."""
        if self._surface is None:
            raise FeedbackError("this renderer is closed")
        state = np.asarray(render_state, dtype=np.float64)
        if state.shape != (RENDER_STATE_SIZE,):
            raise FeedbackError(
                f"driving render state must have shape ({RENDER_STATE_SIZE},), "
                f"got {state.shape}"
            )
        rows = state.reshape(MAX_VEHICLES, len(VEHICLE_FIELDS))
        shown = []
        for i, (row, vehicle) in enumerate(zip(rows, self._vehicles)):
            if row[0] < 0.5:
                continue
            vehicle.position = row[1:3]
            vehicle.heading, vehicle.speed, vehicle.crashed = row[3], row[4], row[5] > 0.5
            vehicle.color = (
                VehicleGraphics.RED
                if vehicle.crashed
                else VehicleGraphics.EGO_COLOR if i == 0 else VehicleGraphics.BLUE
            )
            shown.append(vehicle)
        surface = self._surface
        surface.move_display_window_to(rows[0, 1:3] if rows[0, 0] > 0.5 else np.zeros(2))
        RoadGraphics.display(self._road, surface)
        RoadGraphics.display_road_objects(self._road, surface, offscreen=True)
        for vehicle in shown[::-1]:  # ego last, on top
            VehicleGraphics.display(vehicle, surface, offscreen=True)
        return np.ascontiguousarray(pygame.surfarray.array3d(surface).swapaxes(0, 1))

    def close(self) -> None:
        """Drop the drawing surface (pygame itself is left running for others)."""
        self._surface = None
        self._road = None
