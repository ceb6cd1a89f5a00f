"""What the reward wrappers accept and how they behave without a model or frozen."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

from rlhf_envs import LearnedRewardVecEnv, NoRewardModelWarning, TrueRewardVecEnv
from rlhf_envs.wrappers import ReturnNormalizer

ENV_ID = "rlhf_envs/Reacher-v0"  # episodes of 50 steps: a few end in these tests


class Recorded:
    """A hand-written reward function that keeps what it was asked."""

    def __init__(self, use_next_obs: bool) -> None:
        self.use_next_obs = use_next_obs
        self.calls = []

    def predict(self, obs, acts, next_obs):
        self.calls.append((obs.copy(), acts.copy(), None if next_obs is None else next_obs.copy()))
        return obs[:, 0] + acts[:, 0]


def steps(venv, n):
    for _ in range(n):
        yield venv.step(np.stack([venv.action_space.sample() for _ in range(venv.num_envs)]))


def no_model_warnings(record):
    return [w for w in record if issubclass(w.category, NoRewardModelWarning)]


def test_any_object_with_predict_is_a_reward_function_in_gym_make():
    reward = Recorded(use_next_obs=False)
    env = gym.make(ENV_ID, reward_model=reward)
    obs, _ = env.reset(seed=0)
    action = env.action_space.sample()
    _, learned, _, _, info = env.step(action)
    assert learned == pytest.approx(obs[0] + action[0]) and "true_reward" in info
    assert reward.calls[-1][2] is None  # told it needs no next observation


@pytest.mark.parametrize("use_next_obs", [False, True])
def test_the_vec_env_gives_a_reward_function_the_real_next_observations(use_next_obs):
    reward = Recorded(use_next_obs)
    venv = LearnedRewardVecEnv(make_vec_env(ENV_ID, n_envs=2, seed=0), reward)
    obs = venv.reset()
    for next_obs, rewards, dones, infos in steps(venv, 60):  # every env ends an episode
        seen_obs, seen_acts, seen_next = reward.calls[-1]
        np.testing.assert_array_equal(seen_obs, obs)
        np.testing.assert_allclose(rewards, seen_obs[:, 0] + seen_acts[:, 0], rtol=1e-6)
        if use_next_obs:
            real = next_obs.copy()
            for i in np.flatnonzero(dones):
                real[i] = infos[i]["terminal_observation"]
            np.testing.assert_array_equal(seen_next, real)
        else:
            assert seen_next is None
        obs = next_obs
    venv.close()


def test_an_object_without_predict_is_refused_in_one_line():
    with pytest.raises(TypeError, match="must have predict"):
        gym.make(ENV_ID, reward_model=42)


def test_without_a_model_both_wrappers_reward_zero_and_warn_once():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        env = gym.make(ENV_ID)
        env.reset(seed=0)
        rewards = [env.step(env.action_space.sample())[1] for _ in range(5)]
        venv = LearnedRewardVecEnv(make_vec_env(ENV_ID, n_envs=2, seed=0))
        venv.reset()
        vec_rewards = [step[1] for step in steps(venv, 5)]
    assert rewards == [0.0] * 5 and np.all(np.array(vec_rewards) == 0.0)
    assert len(no_model_warnings(record)) == 2  # one each
    with warnings.catch_warnings(record=True) as record:  # on purpose: quiet
        warnings.simplefilter("always")
        quiet = LearnedRewardVecEnv(make_vec_env(ENV_ID, n_envs=2, seed=0),
                                    warn_without_model=False)
        quiet.reset()
        list(steps(quiet, 3))
        env = gym.make(ENV_ID, warn_without_model=False)
        env.reset(seed=0)
        env.step(env.action_space.sample())
    assert not no_model_warnings(record)


@pytest.mark.parametrize("wrapper", ["learned", "true"])
def test_normalisation_can_be_frozen_and_its_statistics_restored(wrapper):
    venv = make_vec_env(ENV_ID, n_envs=2, seed=0)
    if wrapper == "learned":
        venv = LearnedRewardVecEnv(venv, Recorded(False), normalize_reward=True)
    else:
        venv = TrueRewardVecEnv(venv, normalize_reward=True)
    venv.reset()
    list(steps(venv, 30))
    assert venv.update_running_mean
    venv.update_running_mean = False
    frozen = venv.normalizer.state_dict()
    list(steps(venv, 30))
    assert venv.normalizer.state_dict() == frozen and not venv.update_running_mean
    again = ReturnNormalizer(2, gamma=frozen["gamma"])
    again.load_state_dict(frozen)
    again.update_running_mean = False
    rewards, dones = np.array([1.0, -2.0]), np.array([False, False])
    np.testing.assert_array_equal(again(rewards, dones),
                                  rewards / np.sqrt(frozen["var"] + again.epsilon))
    venv.update_running_mean = True
    list(steps(venv, 5))
    assert venv.normalizer.state_dict() != frozen
    venv.close()


def test_a_gym_make_env_freezes_its_normalisation_through_set_wrapper_attr():
    env = gym.make(ENV_ID, reward_model=Recorded(False), normalize_reward=True)
    env.set_wrapper_attr("update_running_mean", False)
    env.reset(seed=0)
    for _ in range(5):
        env.step(env.action_space.sample())
    normalizer = env.get_wrapper_attr("normalizer")
    assert normalizer.count == normalizer.epsilon and not normalizer.update_running_mean
