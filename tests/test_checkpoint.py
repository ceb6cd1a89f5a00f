"""Agent checkpoints: safetensors + JSON round trips for PPO and SAC, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.env_util import make_vec_env

from feedback.errors import FeedbackError
from rlhf_envs.sb3.checkpoint import STATE_FILE, TENSORS_FILE, restore_agent, save_agent

torch.set_num_threads(1)


def make_ppo(seed: int = 0) -> PPO:
    env = make_vec_env("Pendulum-v1", n_envs=2, seed=seed)
    return PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=2, seed=seed,
               policy_kwargs=dict(net_arch=[32, 32]), device="cpu")


def make_sac(seed: int = 0) -> SAC:
    env = make_vec_env("Pendulum-v1", n_envs=2, seed=seed)
    return SAC("MlpPolicy", env, buffer_size=2000, learning_starts=100, batch_size=32,
               seed=seed, policy_kwargs=dict(net_arch=[32, 32]), device="cpu")


def assert_same(a, b, where="") -> None:
    """Deep equality of nested dicts/lists/tuples of tensors and plain values."""
    assert type(a) is type(b) or (torch.is_tensor(a) and torch.is_tensor(b)), where
    if torch.is_tensor(a):
        assert a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}/{i}")
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def ppo_dir(tmp_path_factory) -> tuple[PPO, Path]:
    agent = make_ppo()
    agent.learn(512)
    return agent, save_agent(agent, tmp_path_factory.mktemp("ppo") / "ckpt")


@pytest.fixture(scope="module")
def sac_dir(tmp_path_factory) -> tuple[SAC, Path]:
    agent = make_sac()
    agent.learn(600)
    return agent, save_agent(agent, tmp_path_factory.mktemp("sac") / "ckpt")


def test_ppo_round_trip(ppo_dir):
    agent, ckpt = ppo_dir
    assert sorted(p.name for p in ckpt.iterdir()) == [STATE_FILE, TENSORS_FILE]
    fresh = make_ppo(seed=1)
    restore_agent(fresh, ckpt)
    assert_same(agent.get_parameters(), fresh.get_parameters())
    assert fresh.policy.optimizer.state_dict()["state"][0]["step"] > 0
    assert (fresh.num_timesteps, fresh._n_updates) == (agent.num_timesteps, agent._n_updates)
    assert list(fresh.ep_info_buffer) == list(agent.ep_info_buffer)
    obs = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    np.testing.assert_array_equal(agent.predict(obs, deterministic=True)[0],
                                  fresh.predict(obs, deterministic=True)[0])
    before = fresh.num_timesteps
    fresh.learn(256, reset_num_timesteps=False)
    assert fresh.num_timesteps == before + 256


def test_sac_round_trip(sac_dir):
    agent, ckpt = sac_dir
    fresh = make_sac(seed=1)
    restore_agent(fresh, ckpt)
    assert_same(agent.get_parameters(), fresh.get_parameters())
    assert torch.equal(agent.log_ent_coef, fresh.log_ent_coef)
    assert fresh.log_ent_coef is fresh.ent_coef_optimizer.param_groups[0]["params"][0]
    old, new = agent.replay_buffer, fresh.replay_buffer
    assert (new.pos, new.full) == (old.pos, old.full) and old.pos == 300
    for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        np.testing.assert_array_equal(getattr(new, name)[: old.pos], getattr(old, name)[: old.pos])
    assert (fresh.num_timesteps, fresh._n_updates, fresh._episode_num) == (
        agent.num_timesteps, agent._n_updates, agent._episode_num)
    fresh.learn(100, reset_num_timesteps=False)
    assert fresh.num_timesteps == agent.num_timesteps + 100
    assert fresh.replay_buffer.pos == old.pos + 50
    assert fresh._n_updates > agent._n_updates


def test_save_replaces_and_survives_interrupted_save(tmp_path):
    agent = make_ppo()
    ckpt = save_agent(agent, tmp_path / "ckpt")
    agent.num_timesteps = 1234
    save_agent(agent, ckpt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    fresh = make_ppo()
    restore_agent(fresh, ckpt)
    assert fresh.num_timesteps == 1234

    # An interrupted save leaves a half-written .new: restore ignores it, save clears it.
    (tmp_path / "ckpt.new").mkdir()
    (tmp_path / "ckpt.new" / TENSORS_FILE).write_bytes(b"half")
    restore_agent(make_ppo(), ckpt)
    save_agent(agent, ckpt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]

    # A crash between the two renames leaves only .old and a complete .new: .new wins.
    shutil.copytree(ckpt, tmp_path / "ckpt.old")
    agent.num_timesteps = 99
    save_agent(agent, tmp_path / "other")
    ckpt.rename(tmp_path / "gone")
    (tmp_path / "other").rename(tmp_path / "ckpt.new")
    fresh = make_ppo()
    restore_agent(fresh, ckpt)
    assert fresh.num_timesteps == 99
    shutil.rmtree(tmp_path / "ckpt.new")  # only .old left: that is read
    restore_agent(fresh, ckpt)
    assert fresh.num_timesteps == 1234
    save_agent(agent, ckpt)
    assert {p.name for p in tmp_path.iterdir()} == {"ckpt", "gone"}


def test_save_refuses_to_clobber_other_directories(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FeedbackError, match="not an agent checkpoint"):
        save_agent(make_ppo(), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def one_line_error(agent, directory, match: str) -> None:
    with pytest.raises(FeedbackError, match=match) as info:
        restore_agent(agent, directory)
    assert "\n" not in str(info.value)


def test_bad_checkpoints(ppo_dir, tmp_path):
    _, good = ppo_dir
    one_line_error(make_ppo(), tmp_path / "missing", "not found")

    truncated = shutil.copytree(good, tmp_path / "truncated")
    data = (truncated / TENSORS_FILE).read_bytes()
    (truncated / TENSORS_FILE).write_bytes(data[: len(data) // 2])
    fresh = make_ppo(seed=1)
    before = fresh.get_parameters()
    one_line_error(fresh, truncated, "truncated or altered")
    assert_same(before, fresh.get_parameters())  # nothing changed

    one_line_error(make_sac(), good, "holds a PPO agent, not a SAC")

    newer = shutil.copytree(good, tmp_path / "newer")
    state = json.loads((newer / STATE_FILE).read_text())
    state["format_version"] = 99
    (newer / STATE_FILE).write_text(json.dumps(state))
    one_line_error(make_ppo(), newer, "format version 99")

    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / STATE_FILE).write_text("{not json")
    one_line_error(make_ppo(), tmp_path / "garbled", "not readable JSON")


def test_other_hyperparameters_do_not_fit(ppo_dir):
    _, good = ppo_dir
    env = make_vec_env("Pendulum-v1", n_envs=2, seed=0)
    wider = PPO("MlpPolicy", env, n_steps=128, policy_kwargs=dict(net_arch=[64, 64]), device="cpu")
    one_line_error(wider, good, r"policy_net\.0\.weight is \[32, 3\] there but \[64, 3\] here")


def test_sac_buffer_of_other_size_does_not_fit(sac_dir):
    _, good = sac_dir
    env = make_vec_env("Pendulum-v1", n_envs=2, seed=0)
    other = SAC("MlpPolicy", env, buffer_size=500, policy_kwargs=dict(net_arch=[32, 32]),
                device="cpu")
    one_line_error(other, good, "replay buffer settings differ")


def test_a_version_1_checkpoint_still_loads(ppo_dir, tmp_path):
    from rlhf_envs.sb3.checkpoint import load_policy

    agent, good = ppo_dir
    old = shutil.copytree(good, tmp_path / "v1")  # as version 1 wrote it: neither key
    state = json.loads((old / STATE_FILE).read_text())
    assert state["format_version"] == 2 and state["obs_normalization"] is None
    assert state["policy_kwargs"] == {"net_arch": [32, 32]}
    del state["policy_kwargs"], state["obs_normalization"]
    state["format_version"] = 1
    (old / STATE_FILE).write_text(json.dumps(state))
    fresh = make_ppo(seed=1)
    restore_agent(fresh, old)
    assert_same(agent.get_parameters(), fresh.get_parameters())
    import gymnasium as gym

    with pytest.raises(FeedbackError, match="does not fit"):  # 64-unit default nets
        load_policy(old, gym.make("Pendulum-v1"))
    policy = load_policy(good, gym.make("Pendulum-v1"))  # version 2 knows its net_arch
    obs = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(policy.predict(obs, deterministic=True)[0],
                                  agent.predict(obs, deterministic=True)[0])
