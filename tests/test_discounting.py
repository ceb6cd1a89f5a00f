"""benchmarks.discounting: the discounted returns that decide which policy PPO prefers."""

from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from benchmarks.discounting import compare, discounted, named_run
from benchmarks.episode_ends import Episode
from feedback.reward_model import RewardModel


def episode(length: int, reward: float, terminated: bool) -> Episode:
    obs = np.full((length, 2), reward, dtype=np.float32)
    return Episode(obs, np.zeros((length, 1), np.float32), obs, np.full(length, reward),
                   terminated)


def test_a_short_horizon_prefers_the_fast_crash_and_a_long_one_survival():
    # Highway's shape: 0.9 a step until a crash at step 11, or 0.7 a step for 30 steps.
    crash, survive = episode(11, 0.9, True), episode(30, 0.7, False)
    assert discounted(crash.true_rewards, 0.8) > discounted(survive.true_rewards, 0.8)
    assert discounted(survive.true_rewards, 0.95) > discounted(crash.true_rewards, 0.95)
    assert discounted(np.ones(3), 0.5) == pytest.approx(1.75)


def test_compare_gives_each_policy_and_gamma_a_row():
    box = spaces.Box(-1, 1, (2,), np.float32)
    model = RewardModel(box, spaces.Box(-1, 1, (1,), np.float32))
    rows = compare({"crash": [episode(11, 0.9, True)], "survive": [episode(30, 0.7, False)]},
                   model, [0.8, 0.99])
    assert [(r["policy"], r["gamma"]) for r in rows] == [
        ("crash", 0.8), ("crash", 0.99), ("survive", 0.8), ("survive", 0.99)]
    assert rows[0]["terminated_share"] == 1.0 and rows[2]["length_mean"] == 30
    assert rows[1]["true"] == pytest.approx(discounted(np.full(11, 0.9), 0.99))


def test_named_run_needs_a_name_and_a_run():
    assert named_run("skip=runs/a") == ("skip", Path("runs/a"))
    with pytest.raises(Exception, match="NAME=RUN"):
        named_run("runs/a")
