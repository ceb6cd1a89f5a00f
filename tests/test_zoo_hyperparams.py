"""rl-zoo3's rows reach the agent, and its observation normalisation is the agent's alone.

The agent sees normalised observations; segments and the reward model raw ones; the
statistics survive a checkpoint, resume, evaluation and :func:`load_policy` on a raw env.
"""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize
from torch import nn

from agents.config import LoopState, RunConfig, check_config
from agents.envs import evaluate
from agents.hyperparams import settings_for
from agents.loop import build_envs, charge, now, resume
from agents.reward_learning import TrueRewardBaseline
from agents.run_dir import save_checkpoint
from feedback.errors import FeedbackError
from rlhf_envs.policies import agent_policy, policy_kwargs_from_data, policy_kwargs_to_data
from rlhf_envs.sb3.checkpoint import STATE_FILE, load_policy, restore_agent, save_agent
from rlhf_envs.sb3.obs_normalization import NormalizedObsPolicy, acting_policy

torch.set_num_threads(1)
CHEETAH = "HalfCheetah-v0"
ROLLOUT = 512  # the zoo's n_steps x n_envs 1: one PPO rollout


def build(out, env: str = CHEETAH, **options):
    config = RunConfig(env_id=env, true_reward=True, out=out, progress=False, **options)
    settings = check_config(config)
    return (config, settings, *build_envs(config, settings, out, "cpu"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A HalfCheetah agent of the zoo's row after one rollout, and its checkpoint."""
    out = tmp_path_factory.mktemp("cheetah")
    config, settings, envs, recorder, agent = build(out)
    agent.learn(ROLLOUT)
    save_checkpoint(out, agent, None, envs, LoopState(iteration=1))
    return config, agent, out


def test_the_zoo_rows_reach_the_agent(tmp_path):
    _, settings, _, recorder, agent = build(tmp_path)
    assert (settings.loop.n_envs, agent.n_envs, settings.loop.eval_episodes) == (1, 1, 10)
    assert (agent.n_steps, agent.batch_size, agent.n_epochs) == (512, 64, 20)
    assert (agent.gamma, agent.gae_lambda, agent.ent_coef, agent.vf_coef,
            agent.max_grad_norm) == (0.98, 0.92, 0.000401762, 0.58096, 0.8)
    assert agent.learning_rate == 2.0633e-05 and agent.clip_range(1.0) == 0.1
    policy = agent.policy
    assert policy.ortho_init is False and policy.activation_fn is nn.ReLU
    for net in (policy.mlp_extractor.policy_net, policy.mlp_extractor.value_net):
        assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [256, 256]
        assert [type(m) for m in net if not isinstance(m, nn.Linear)] == [nn.ReLU, nn.ReLU]
    assert torch.equal(policy.log_std, torch.full_like(policy.log_std, -2.0))
    # The zoo's normalize: observations by SB3's VecNormalize, on top of the recorder.
    top = agent.get_env()
    assert isinstance(top, VecNormalize) and top.venv is recorder
    assert (top.norm_obs, top.norm_reward, top.clip_obs) == (True, False, 10.0)
    assert settings.loop.normalize_reward  # the reward's own normaliser, as before

    # Hopper-v3's tuned row stands still here: Hopper takes the zoo's &mujoco-defaults.
    _, hopper, *_, hopper_agent = build(tmp_path / "hopper", "Hopper-v0")
    assert (hopper_agent.n_envs, hopper_agent.n_steps, hopper_agent.batch_size,
            hopper_agent.n_epochs, hopper_agent.gamma, hopper_agent.learning_rate) == (
        1, 2048, 64, 10, 0.99, 3e-4)
    assert hopper.policy_kwargs == {} and hopper.loop.normalize_obs
    assert hopper_agent.policy.activation_fn is nn.Tanh
    # Walker2d-v3's row has no policy_kwargs: SB3's own MlpPolicy.
    _, _, _, _, walker = build(tmp_path / "walker", "Walker2d-v0", n_envs=2)
    assert walker.n_envs == 2  # --n-envs wins over the row
    assert (walker.gamma, walker.learning_rate, walker.n_epochs) == (0.99, 5.05041e-05, 20)
    assert walker.policy.ortho_init and walker.policy.activation_fn is nn.Tanh
    assert walker.policy.mlp_extractor.policy_net[0].out_features == 64


def test_the_table_rows():
    for name in ("HalfCheetah-v0", "Hopper-v0", "Walker2d-v0", "Ant-v0", "Swimmer-v0"):
        ppo, sac = settings_for(name, "ppo"), settings_for(name, "sac")
        assert ppo.loop.normalize_obs and not sac.loop.normalize_obs  # sac.yml: no normalize
        assert ppo.loop.n_envs == sac.loop.n_envs == 1 and ppo.loop.eval_episodes == 10
        assert (sac.agent["learning_starts"], sac.agent["buffer_size"]) == (10_000, 1_000_000)
        assert 49_152 % ppo.agent["n_steps"] == 0  # --timesteps' default: whole rollouts
    assert settings_for("Swimmer-v0", "ppo").gamma == settings_for("Swimmer-v0", "sac").gamma \
        == 0.9999
    assert settings_for("Ant-v0", "ppo").agent["n_steps"] == 2048  # SB3's defaults
    reacher = settings_for("Reacher-v0", "ppo")  # the hand-tuned row BENCHMARKS.md measures
    assert (reacher.loop.n_envs, reacher.loop.eval_episodes, reacher.loop.normalize_obs,
            reacher.agent["n_steps"]) == (8, 50, False, 256)
    # Rows share their dicts; a run's settings are its own copy.
    settings_for(CHEETAH, "ppo").policy_kwargs["net_arch"]["pi"].append(1)
    assert settings_for(CHEETAH, "ppo").policy_kwargs["net_arch"]["pi"] == [256, 256]


def test_policy_kwargs_are_data():
    data = {"activation_fn": "relu", "net_arch": [8], "ortho_init": False}
    kwargs = policy_kwargs_from_data(data)
    assert kwargs["activation_fn"] is nn.ReLU and policy_kwargs_to_data(kwargs) == data
    with pytest.raises(FeedbackError, match="unknown activation_fn 'swish'"):
        policy_kwargs_from_data({"activation_fn": "swish"})
    slate = gym.make("rlhf_envs/SlateRec-v0", warn_without_model=False)
    policy, kwargs = agent_policy(slate, "ppo", {"activation_fn": "relu"})
    assert policy.__name__ == "SlatePolicy" and kwargs["activation_fn"] is nn.ReLU
    assert set(kwargs) == {"slate_layout", "activation_fn"}


class Seen(BaseCallback):
    """What the agent got from each step, what VecNormalize saw, and its statistics."""

    def __init__(self) -> None:
        super().__init__()
        self.agent_obs, self.raw_obs, self.expected = [], [], []

    def _on_step(self) -> bool:
        top = self.training_env
        raw = top.get_original_obs()
        self.agent_obs.append(self.locals["new_obs"].copy())
        self.raw_obs.append(raw)
        scaled = (raw - top.obs_rms.mean) / np.sqrt(top.obs_rms.var + top.epsilon)
        self.expected.append(np.clip(scaled, -10, 10).astype(np.float32))
        return True


class SpyReward:
    """A reward function that keeps the observations it is asked about."""

    def __init__(self) -> None:
        self.obs: list[np.ndarray] = []

    def predict(self, obs, acts, next_obs):
        self.obs.append(np.array(obs))
        return np.zeros(len(obs), dtype=np.float32)


def test_the_agent_sees_normalised_observations_segments_and_reward_raw_ones(tmp_path):
    config = RunConfig(env_id=CHEETAH, labels=10, out=tmp_path, progress=False)
    settings = check_config(config)
    envs, recorder, agent = build_envs(config, settings, tmp_path, "cpu")
    spy = SpyReward()
    envs.set_reward_model(spy)
    seen = Seen()
    agent.learn(ROLLOUT, callback=seen)
    agent_obs, raw, expected = (np.concatenate(x) for x in
                                (seen.agent_obs, seen.raw_obs, seen.expected))
    np.testing.assert_array_equal(agent_obs, expected)  # VecNormalize's, clipped at 10
    assert np.abs(agent_obs).max() <= 10 and np.abs(raw - agent_obs).max() > 1
    segments = recorder.drain()
    length = settings.loop.segment_length
    assert len(segments) == ROLLOUT // length
    stored = np.concatenate([s.next_obs for s in segments])
    np.testing.assert_array_equal(stored, raw[: len(stored)])  # raw, as the env gave them
    np.testing.assert_array_equal(np.concatenate([s.obs for s in segments])[1:],
                                  raw[: len(stored) - 1])
    # The reward model (below the normalisation) was asked about raw observations.
    np.testing.assert_array_equal(np.concatenate(spy.obs)[1 : len(stored)],
                                  raw[: len(stored) - 1])


def test_resume_restores_the_observation_statistics(trained, tmp_path):
    config, agent, out = trained
    _, _, envs, recorder, fresh = build(tmp_path)
    before = fresh.get_env().obs_rms.count
    state = resume(config, out, envs, recorder, fresh, TrueRewardBaseline())
    assert state.iteration == 1
    saved, restored = agent.get_env().obs_rms, fresh.get_env().obs_rms
    assert restored.count == saved.count == pytest.approx(1 + ROLLOUT) != before  # reset, steps
    np.testing.assert_array_equal(restored.mean, saved.mean)
    np.testing.assert_array_equal(restored.var, saved.var)
    raw = np.random.default_rng(0).normal(size=(8, 17))
    np.testing.assert_array_equal(acting_policy(fresh).predict(raw, deterministic=True)[0],
                                  acting_policy(agent).predict(raw, deterministic=True)[0])
    before = fresh.num_timesteps
    fresh.learn(ROLLOUT, reset_num_timesteps=False)  # goes on from them
    assert fresh.num_timesteps == before + ROLLOUT
    assert fresh.get_env().obs_rms.count == pytest.approx(saved.count + 1 + ROLLOUT)


def test_a_checkpoint_from_before_cpu_time_resumes_with_it_unknown(trained, tmp_path):
    import shutil

    config, _, out = trained
    copy = tmp_path / "old"
    shutil.copytree(out / "checkpoint", copy / "checkpoint")
    state_file = copy / "checkpoint" / "state.json"
    saved = json.loads(state_file.read_text())
    assert saved["cpu_seconds"] == 0.0  # written by this version
    del saved["cpu_seconds"]
    state_file.write_text(json.dumps(saved))
    _, _, envs, recorder, fresh = build(tmp_path / "fresh")
    state = resume(config, copy, envs, recorder, fresh, TrueRewardBaseline())
    assert state.cpu_seconds is None  # not the resumed part alone, passed off as the run's
    charge(state, now())
    assert state.cpu_seconds is None and state.wall_seconds > 0


def test_checkpoints_of_other_normalisation_do_not_fit(trained, tmp_path):
    _, agent, out = trained
    ckpt = out / "checkpoint" / "agent"
    _, _, _, recorder, _ = build(tmp_path / "a")
    policy, kwargs = agent_policy(recorder, "ppo", settings_for(CHEETAH, "ppo").policy_kwargs)
    bare = PPO(policy, recorder, policy_kwargs=kwargs, n_steps=ROLLOUT, device="cpu")
    with pytest.raises(FeedbackError, match="saved with observation normalisation, but this "
                                            "agent's observations are not"):
        restore_agent(bare, ckpt)
    save_agent(bare, tmp_path / "bare")
    _, _, _, _, normalised = build(tmp_path / "b")
    with pytest.raises(FeedbackError, match="saved without observation normalisation"):
        restore_agent(normalised, tmp_path / "bare")

    _, _, _, _, tanh = build(tmp_path / "c")  # same shapes, another activation
    tanh.policy_kwargs["activation_fn"] = nn.Tanh
    with pytest.raises(FeedbackError, match="saved with policy_kwargs"):
        restore_agent(tanh, ckpt)

    state = json.loads((ckpt / STATE_FILE).read_text())
    state["obs_normalization"]["clip_obs"] = 5.0
    (ckpt / STATE_FILE).write_text(json.dumps(state))
    try:
        with pytest.raises(FeedbackError, match="clips at 5.0"):
            restore_agent(normalised, ckpt)
    finally:
        state["obs_normalization"]["clip_obs"] = 10.0
        (ckpt / STATE_FILE).write_text(json.dumps(state))
    restore_agent(normalised, ckpt)


def test_load_policy_on_a_raw_env_acts_as_the_agent_did_in_training(trained):
    config, agent, out = trained
    env = gym.make(config.env_id, warn_without_model=False)
    loaded = load_policy(out / "checkpoint" / "agent", env)
    assert isinstance(loaded, NormalizedObsPolicy)
    assert loaded.policy.mlp_extractor.policy_net[0].out_features == 256  # the row's net
    # The training stack, frozen, and the raw env from the same seed, step by step.
    top = agent.get_env()
    top.training = False
    try:
        top.seed(123)
        obs = top.reset()
        raw, _ = env.reset(seed=123)
        for _ in range(30):
            np.testing.assert_array_equal(top.get_original_obs()[0], raw)
            action, _ = agent.predict(obs, deterministic=True)  # what training acted on
            np.testing.assert_array_equal(loaded.predict(raw, deterministic=True)[0],
                                          action[0])
            obs, *_ = top.step(action)
            raw, *_ = env.step(action[0])
    finally:
        top.training = True
    # Evaluation acts the same way: the loop's agent and the loaded policy agree.
    short = {"max_episode_steps": 50}
    ours = evaluate(config.env_id, 2, 7, acting_policy(agent), env_kwargs=short)
    theirs = evaluate(config.env_id, 2, 7, loaded, env_kwargs=short)
    assert ours.returns == theirs.returns
    env.close()
