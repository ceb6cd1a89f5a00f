"""Driving envs on highway-env: info contract, seeding, checkers and clip rendering."""

from __future__ import annotations

import warnings

import imageio.v3 as iio
import numpy as np
import pytest
from conftest import one_line  # conftest also sets SDL_VIDEODRIVER=dummy (headless)
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from feedback.errors import FeedbackError
from feedback.segments import cut_segments
from rlhf_envs.driving import (
    DRIVING_ENVS,
    RENDER_STATE_SIZE,
    DrivingClipRenderer,
    make_driving_env,
)

# Small scenes keep the tests fast (Merge-v0 has a fixed scene and no duration).
SMALL = {
    "Highway-v0": {"vehicles_count": 5, "duration": 10},
    "Merge-v0": {},
    "Roundabout-v0": {"duration": 10},
    "Intersection-v0": {"initial_vehicle_count": 5, "duration": 10},
}


def rollout(name: str, seed: int, actions: list[int], config: dict | None = None):
    """Observations (with the last), rewards, infos of one seeded run; stops at episode end."""
    env = make_driving_env(name, SMALL[name] if config is None else config)
    obs, info = env.reset(seed=seed)
    observations, rewards, infos = [obs], [], [info]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        if terminated or truncated:
            break
    env.close()
    return np.array(observations), np.array(rewards), infos


@pytest.mark.parametrize("name", sorted(DRIVING_ENVS))
def test_info_contract(name: str) -> None:
    observations, rewards, infos = rollout(name, seed=0, actions=[1] * 4)
    keys = set(infos[1]["rewards"])
    assert keys and infos[0]["true_reward"] == 0.0
    assert infos[0]["reward_terms"] == dict.fromkeys(keys, 0.0)
    for reward, info in zip(rewards, infos[1:]):
        assert isinstance(info["true_reward"], float) and info["true_reward"] == reward
        assert set(info["reward_terms"]) == keys
        assert all(type(v) is float for v in info["reward_terms"].values())
    for info in infos:
        state = info["render_state"]
        assert state.dtype == np.float64 and state.shape == (RENDER_STATE_SIZE,)
        assert state[0] == 1.0  # the ego vehicle is present, first


@pytest.mark.parametrize("name", sorted(DRIVING_ENVS))
def test_gymnasium_and_sb3_checkers_pass(name: str) -> None:
    env = make_driving_env(name, SMALL[name])
    with warnings.catch_warnings():
        # Unbounded Box and 2-D observations: highway-env's defaults, warnings only.
        warnings.simplefilter("ignore")
        check_env(env)
        sb3_check_env(env)
    env.close()


def test_same_seed_same_actions_same_trajectory() -> None:
    actions = [1, 3, 0, 2, 1, 4]
    obs_a, rewards_a, _ = rollout("Highway-v0", 7, actions)
    obs_b, rewards_b, _ = rollout("Highway-v0", 7, actions)
    obs_c, _, _ = rollout("Highway-v0", 8, actions)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rewards_a, rewards_b)
    assert obs_a.shape != obs_c.shape or not np.array_equal(obs_a, obs_c)


def test_intersection_does_not_change_other_scenarios_traffic() -> None:
    # highway-env's intersection sets IDM constants on its traffic's class at reset.
    before, _, _ = rollout("Highway-v0", 3, [1] * 6)
    rollout("Intersection-v0", 0, [1])
    after, _, _ = rollout("Highway-v0", 3, [1] * 6)
    np.testing.assert_array_equal(before, after)


def test_action_space_seed_survives_reset() -> None:
    env = make_driving_env("Merge-v0")
    env.action_space.seed(5)
    env.reset(seed=0)
    first = [env.action_space.sample() for _ in range(5)]
    env.action_space.seed(5)
    env.reset(seed=0)
    assert [env.action_space.sample() for _ in range(5)] == first
    env.close()


def test_rgb_array_render_is_not_blank_headless() -> None:
    env = make_driving_env("Merge-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    env.close()
    assert frame.ndim == 3 and len(np.unique(frame.reshape(-1, 3), axis=0)) >= 3


def test_unknown_name_is_one_line_error() -> None:
    with pytest.raises(FeedbackError) as err:
        make_driving_env("Racetrack-v0")
    message = one_line(err)
    assert "Racetrack-v0" in message and "Highway-v0" in message
    with pytest.raises(FeedbackError):
        DrivingClipRenderer("rlhf_envs/Nope-v0")


def test_renderer_draws_a_moving_clip(tmp_path) -> None:
    env = make_driving_env("rlhf_envs/Highway-v0", SMALL["Highway-v0"])
    obs, info = env.reset(seed=1)
    observations, acts, rewards, states = [obs], [], [], []
    for _ in range(10):
        obs, reward, _, _, info = env.step(1)
        observations.append(obs)
        acts.append(1)
        rewards.append(reward)
        states.append(info["render_state"])
    env.close()
    (segment,) = cut_segments(
        np.array(observations), np.array(acts), np.array(rewards),
        render_states=np.stack(states), length=10, env_id="rlhf_envs/Highway-v0",
    )
    renderer = DrivingClipRenderer("rlhf_envs/Highway-v0")
    frames = renderer.frames(segment)
    assert frames.shape == (10, 128, 128, 3) and frames.dtype == np.uint8
    for frame in frames:
        assert len(np.unique(frame.reshape(-1, 3), axis=0)) >= 3  # road, lines, cars
        assert (frame == (50, 200, 0)).all(axis=-1).any()  # the green ego vehicle
    assert all((a != b).any() for a, b in zip(frames[:-1], frames[1:]))
    path = tmp_path / "frame.png"
    iio.imwrite(path, frames[0])
    np.testing.assert_array_equal(iio.imread(path), frames[0])

    segment.env_id = "rlhf_envs/Merge-v0"
    with pytest.raises(FeedbackError):
        renderer.frames(segment)
    renderer.close()


def test_renderer_draws_every_scenario_and_checks_state_shape() -> None:
    for name in sorted(DRIVING_ENVS):
        _, _, infos = rollout(name, seed=2, actions=[1])
        renderer = DrivingClipRenderer(name, width=96, height=64)
        frame = renderer.draw(infos[-1]["render_state"])
        assert frame.shape == (64, 96, 3) and len(np.unique(frame.reshape(-1, 3), axis=0)) >= 3
        with pytest.raises(FeedbackError):
            renderer.draw(np.zeros(7))
        renderer.close()
