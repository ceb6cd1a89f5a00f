"""Shared fixtures: headless settings, small real datasets, and both store backends.

``backend`` runs a test once on SQLite and once on PostgreSQL: a throw-away cluster is
started once per session (:mod:`postgres_server`) and each test gets fresh databases.
Where no server can start, the PostgreSQL cases skip with one line; with
``RLHF_REQUIRE_POSTGRES=1`` (CI) that is a failure instead.
"""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from postgres_server import PostgresServer, ServerUnavailable  # noqa: E402
from store_backends import PostgresStores, SQLiteStores  # noqa: E402

from feedback.segments import Segment, cut_segments  # noqa: E402

REQUIRE_POSTGRES = os.environ.get("RLHF_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL cluster for the whole session (skips if none can start)."""
    try:
        server = PostgresServer.start()
    except ServerUnavailable as err:
        if REQUIRE_POSTGRES:
            pytest.fail(f"RLHF_REQUIRE_POSTGRES=1 but no PostgreSQL server: {err}",
                        pytrace=False)
        pytest.skip(f"PostgreSQL cases skip: {err} (RLHF_REQUIRE_POSTGRES=1 makes this "
                    "a failure)")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """New stores on one backend: SQLite files in tmp_path, or fresh PostgreSQL databases."""
    if request.param == "sqlite":
        stores = SQLiteStores(tmp_path)
    else:
        stores = PostgresStores(request.getfixturevalue("postgres_server"))
    yield stores
    stores.finish()


def halfcheetah_segments(seed: int, episodes: int, steps: int = 1000) -> list[Segment]:
    """HalfCheetah-v5 clips from a random policy and from open-loop gaits.

    Every third episode is random; the others follow a sine gait of random frequency
    and phases, some of which run forward and some backward, so true returns spread.
    """
    env = gym.make("HalfCheetah-v5")
    rng = np.random.default_rng(seed)
    segments = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed * 1000 + episode)
        env.action_space.seed(seed * 1000 + episode)
        freq, phase = rng.uniform(1, 4), rng.uniform(0, 2 * np.pi, 6)
        observations, actions, rewards, forward, ctrl = [obs], [], [], [], []
        for t in range(steps):
            if episode % 3 == 0:
                action = env.action_space.sample()
            else:
                action = np.sin(2 * np.pi * freq * t * 0.05 + phase).astype(np.float32)
            obs, reward, _, _, info = env.step(action)
            observations.append(obs)
            actions.append(action)
            rewards.append(reward)
            forward.append(info["reward_forward"])
            ctrl.append(info["reward_ctrl"])
        segments += cut_segments(
            np.array(observations), np.array(actions), np.array(rewards),
            reward_terms={"forward": np.array(forward), "ctrl": np.array(ctrl)},
            env_id="HalfCheetah-v5", source="random" if episode % 3 == 0 else "gait",
            episode=episode,
        )
    env.close()
    for k, segment in enumerate(segments):  # fixed ids: the hash-drawn held-out split is too
        segment.id = f"cheetah-{seed}-{k:04d}"
    return segments


@pytest.fixture(scope="session")
def cheetah_train() -> list[Segment]:
    return halfcheetah_segments(seed=0, episodes=12)


@pytest.fixture(scope="session")
def cheetah_test() -> list[Segment]:
    return halfcheetah_segments(seed=1, episodes=12)


def rollout(env: gym.Env, steps: int, seed: int, policy=None):
    """One seeded episode of at most ``steps`` steps (random actions unless ``policy(env)``).

    Returns observations (one more than actions), actions, rewards, and the infos with
    the reset's info first.
    """
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    observations, actions, rewards, infos = [obs], [], [], [info]
    for _ in range(steps):
        action = env.action_space.sample() if policy is None else policy(env)
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(reward)
        infos.append(info)
        if terminated or truncated:
            break
    return np.array(observations), np.array(actions), np.array(rewards), infos


def one_line(err: BaseException) -> str:
    """The message of an error users see; it must fit on one line."""
    message = str(err.value if hasattr(err, "value") else err)
    assert message and "\n" not in message, message
    return message
