import warnings

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest
from conftest import one_line, rollout
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv

import rlhf_envs
from feedback.errors import FeedbackError, ModelCardError
from feedback.reward_model import RewardModel
from feedback.segments import cut_segments
from rlhf_envs import LearnedRewardVecEnv, NoRewardModelWarning, make_clip_renderer
from rlhf_envs.robotics import ROBOTICS_ENVS

ROBOT_IDS = [f"rlhf_envs/{name}" for name in ROBOTICS_ENVS]
# Reduced traffic keeps highway-env fast enough for the default test run.
SMALL_TRAFFIC = {"config": {"vehicles_count": 5, "duration": 10}}
ENV_KWARGS = {env_id: SMALL_TRAFFIC for env_id in
              ("rlhf_envs/Highway-v0", "rlhf_envs/Roundabout-v0", "rlhf_envs/Intersection-v0")}


def model_for(env: gym.Env, env_id: str, seed: int = 0) -> RewardModel:
    """An untrained (randomly initialised) model: enough to check the plumbing."""
    return RewardModel(env.observation_space, env.action_space, env_id=env_id, seed=seed)


@pytest.mark.parametrize("env_id", rlhf_envs.ENV_IDS)
def test_every_env_keeps_the_contract(env_id):
    kwargs = ENV_KWARGS.get(env_id, {})
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env, warn=False)
        obs, acts, rewards, infos = rollout(env, 20, seed=3)
    assert np.all(rewards == 0.0)  # no model: the agent sees nothing of the task
    infos = infos[1:]  # after the reset's
    for info in infos:
        assert isinstance(info["true_reward"], float)
        assert all(isinstance(v, float) for v in info["reward_terms"].values())
        assert info["render_state"].shape == infos[0]["render_state"].shape
    if env_id in ROBOT_IDS:  # MuJoCo's reward is exactly the sum of its terms
        assert infos[0]["true_reward"] == pytest.approx(sum(infos[0]["reward_terms"].values()))
    again, _, _, _ = rollout(gym.make(env_id, **kwargs), 20, seed=3)
    np.testing.assert_array_equal(obs, again)

    model = model_for(env, env_id)
    env = gym.make(env_id, reward_model=model, **kwargs)
    obs, acts, rewards, infos = rollout(env, 10, seed=4)
    np.testing.assert_allclose(rewards, model.predict(obs[:-1], acts), rtol=1e-4, atol=1e-5)
    assert len(rewards) and np.any(rewards != 0.0)


def test_no_model_warns_once_and_models_can_be_swapped():
    env = gym.make("rlhf_envs/Reacher-v0")
    env.reset(seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            env.step(env.action_space.sample())
    assert [w.category for w in caught].count(NoRewardModelWarning) == 1
    model = model_for(env, "rlhf_envs/Reacher-v0")
    env.unwrapped  # noqa: B018 - the wrapper is reachable through get_wrapper_attr
    env.get_wrapper_attr("set_reward_model")(model)
    obs, _ = env.reset(seed=1)
    action = env.action_space.sample()
    _, reward, _, _, _ = env.step(action)
    assert reward == pytest.approx(model.predict(obs[None], action[None])[0], rel=1e-4)


def test_model_paths_and_models_for_other_envs(tmp_path):
    cheetah = gym.make("rlhf_envs/HalfCheetah-v0")
    path = model_for(cheetah, "rlhf_envs/HalfCheetah-v0").save(tmp_path / "rm")
    env = gym.make("rlhf_envs/HalfCheetah-v0", reward_model=str(path))
    env.reset(seed=0)
    _, reward, _, _, _ = env.step(env.action_space.sample())
    assert reward != 0.0
    with pytest.raises(ModelCardError) as err:
        gym.make("rlhf_envs/Hopper-v0", reward_model=str(path))
    assert "trained for rlhf_envs/HalfCheetah-v0, not rlhf_envs/Hopper-v0" in one_line(err)
    hopper_shaped = RewardModel(gym.make("rlhf_envs/Hopper-v0").observation_space,
                                cheetah.action_space, env_id="")
    with pytest.raises(ModelCardError) as err:
        gym.make("rlhf_envs/HalfCheetah-v0", reward_model=hopper_shaped)
    assert "observation space differs" in one_line(err)


def test_unknown_ids_are_one_line():
    with pytest.raises(gym.error.Error) as err:
        gym.make("rlhf_envs/HalfCheetah-v9")
    assert "v9" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        make_clip_renderer("rlhf_envs/Teleport-v0")
    assert "unknown env 'rlhf_envs/Teleport-v0'" in one_line(err)


@pytest.mark.parametrize("vec_env_cls", [None, SubprocVecEnv])
def test_vec_env_predicts_in_one_batch(vec_env_cls):
    env_id = "rlhf_envs/HalfCheetah-v0"
    model = model_for(gym.make(env_id), env_id)
    # "module:id" makes spawned SubprocVecEnv workers import rlhf_envs (gymnasium's syntax).
    venv = make_vec_env(f"rlhf_envs:{env_id}", n_envs=3, seed=0, vec_env_cls=vec_env_cls)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoRewardModelWarning)  # inner envs must stay quiet
        wrapped = LearnedRewardVecEnv(venv, model)
        obs = wrapped.reset()
        for _ in range(5):
            actions = np.stack([wrapped.action_space.sample() for _ in range(3)])
            next_obs, rewards, dones, infos = wrapped.step(actions)
            np.testing.assert_allclose(rewards, model.predict(obs, actions), rtol=1e-4, atol=1e-5)
            assert all(isinstance(info["true_reward"], float) for info in infos)
            obs = next_obs
    wrapped.set_reward_model(None)
    _, rewards, _, _ = wrapped.step(actions)
    assert np.all(rewards == 0.0)
    wrapped.close()


def test_reward_normalisation_scales_rewards():
    env_id = "rlhf_envs/HalfCheetah-v0"
    model = model_for(gym.make(env_id), env_id)
    venv = LearnedRewardVecEnv(make_vec_env(env_id, n_envs=2, seed=0), model, normalize_reward=True)
    venv.reset()
    raw, scaled = [], []
    for _ in range(200):
        actions = np.stack([venv.action_space.sample() for _ in range(2)])
        obs_before = venv._obs
        _, rewards, _, _ = venv.step(actions)
        raw.append(model.predict(obs_before, actions))
        scaled.append(rewards)
    ratio = np.array(scaled) / np.array(raw)
    assert np.allclose(ratio[-1], ratio[-1][0]) and not np.isclose(ratio[-1][0], 1.0)


def test_a_reset_starts_the_normalised_return_afresh():
    # gym.make puts the TimeLimit outside LearnedReward: the wrapper never sees the
    # truncation, so its reset must end the discounted return.
    env_id = "rlhf_envs/Reacher-v0"
    model = model_for(gym.make(env_id), env_id)
    env = gym.make(env_id, reward_model=model, normalize_reward=True, max_episode_steps=5)
    env.reset(seed=0)
    truncated = False
    while not truncated:
        *_, truncated, _ = env.step(env.action_space.sample())
    normalizer = env.get_wrapper_attr("normalizer")
    assert normalizer.returns.any()
    env.reset()
    assert not normalizer.returns.any()
    venv = LearnedRewardVecEnv(make_vec_env(env_id, n_envs=2, seed=0), model, normalize_reward=True)
    venv.reset()
    venv.step(np.stack([venv.action_space.sample() for _ in range(2)]))
    assert venv.normalizer.returns.any()
    venv.reset()
    assert not venv.normalizer.returns.any()


def test_mujoco_clip_is_redrawn_from_physics_states(tmp_path):
    env_id = "rlhf_envs/HalfCheetah-v0"
    env = gym.make(env_id)
    obs, acts, rewards, infos = rollout(env, 30, seed=0)
    states = np.stack([info["render_state"] for info in infos[1:]])
    [segment] = cut_segments(obs, acts, rewards, render_states=states, length=30, env_id=env_id)
    renderer = make_clip_renderer(env_id)
    frames = renderer.frames(segment)
    assert frames.shape == (30, 128, 128, 3) and frames.dtype == np.uint8
    assert frames[0].std() > 10  # not blank
    assert all(np.any(a != b) for a, b in zip(frames[:-1], frames[1:]))
    iio.imwrite(tmp_path / "halfcheetah.png", frames[-1])
    assert iio.imread(tmp_path / "halfcheetah.png").shape == (128, 128, 3)
    segment.env_id = "rlhf_envs/Hopper-v0"
    with pytest.raises(FeedbackError) as err:
        renderer.frames(segment)
    assert "segment is from rlhf_envs/Hopper-v0" in one_line(err)
    renderer.close()


def test_every_id_is_registered():
    assert set(rlhf_envs.ENV_IDS) <= set(gym.registry)


def test_vec_env_next_observation_models_see_the_terminal_observation():
    env_id = "rlhf_envs/Reacher-v0"  # 50-step episodes: the VecEnv resets within the loop
    env = gym.make(env_id)
    model = RewardModel(env.observation_space, env.action_space, env_id=env_id,
                        use_next_obs=True)
    venv = LearnedRewardVecEnv(make_vec_env(env_id, n_envs=2, seed=0), model)
    obs = venv.reset()
    ended = 0
    for _ in range(60):
        actions = np.stack([venv.action_space.sample() for _ in range(2)])
        next_obs, rewards, dones, infos = venv.step(actions)
        real_next = np.stack([info["terminal_observation"] if done else o
                              for o, done, info in zip(next_obs, dones, infos)])
        np.testing.assert_allclose(rewards, model.predict(obs, actions, real_next),
                                   rtol=1e-4, atol=1e-5)
        ended += dones.sum()
        obs = next_obs
    assert ended == 2


def test_our_model_loading_hides_only_gymnasiums_settotalmass_warning():
    import mujoco

    from rlhf_envs.robotics import _quiet_known_warnings, base_env

    heard: list[str] = []
    mujoco.set_mju_user_warning(heard.append)  # where MuJoCo's warnings would go
    try:
        xml = ('<mujoco><compiler settotalmass="2"/><worldbody><body><geom size="1"/>'
               '</body></worldbody></mujoco>')
        mujoco.MjModel.from_xml_string(xml)
        assert len(heard) == 1 and "settotalmass" in heard[0]  # MuJoCo does warn
        base_env("HalfCheetah-v0").close()  # gymnasium's XML sets settotalmass
        with _quiet_known_warnings():
            mujoco.MjModel.from_xml_string(xml)
            mujoco.get_mju_user_warning()("another warning")  # as mju_warning would
        assert heard[1:] == ["another warning"]  # only that one passed on
        assert mujoco.get_mju_user_warning() == heard.append  # put back
    finally:
        mujoco.set_mju_user_warning(None)
