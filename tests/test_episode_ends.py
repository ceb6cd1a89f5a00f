"""Episodes that end on failure: padded last segments, and a reward level set by them.

A Bradley-Terry reward is fixed only up to a constant; where an episode can end, that
constant decides whether the agent wants to live. These tests would have caught Hopper's
and Highway's learned-reward agents learning nothing (issue "Every domain learns").
"""

import gymnasium as gym
import numpy as np
import pytest
from conftest import one_line
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv

from feedback.errors import FeedbackError
from feedback.reward_model import RewardModel
from feedback.segments import Segment, pad_to_length, true_returns
from feedback.store import FeedbackStore
from feedback.teachers import make_teacher
from rlhf_envs.sb3.learned_reward_vec_env import LearnedRewardVecEnv
from rlhf_envs.sb3.segment_recorder import SegmentRecorder


class Balance(gym.Env):
    """Stay upright: the angle grows by itself (unstable) and the action pushes it back;
    |angle| > 1 ends the episode, so a policy lives long only by steering against it.

    Reward 1 per step alive (Hopper's healthy reward, Highway's not crashing), so the
    return is how long the agent lasts; the time limit truncates at ``limit`` steps.
    """

    observation_space = spaces.Box(-2.0, 2.0, (1,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, limit: int = 60) -> None:
        self.limit = limit

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.angle, self.steps = float(self.np_random.uniform(-0.3, 0.3)), 0
        return np.array([self.angle], np.float32), {"true_reward": 0.0, "render_state": [0.0]}

    def step(self, action):
        self.angle += 0.15 * self.angle + 0.3 * float(action[0]) + 0.05 * self.np_random.normal()
        self.steps += 1
        terminated = abs(self.angle) > 1.0
        truncated = not terminated and self.steps >= self.limit
        info = {"true_reward": 1.0, "render_state": [float(self.steps)]}
        return np.array([self.angle], np.float32), 1.0, terminated, truncated, info


def segment(steps: int) -> Segment:
    rng = np.random.default_rng(steps)
    return Segment(obs=rng.normal(size=(steps, 2)), acts=rng.normal(size=(steps, 1)),
                   next_obs=rng.normal(size=(steps, 2)), true_rewards=np.ones(steps),
                   reward_terms={"alive": np.ones(steps)},
                   render_states=np.arange(steps, dtype=float)[:, None], env_id="E")


def test_padding_holds_the_terminal_state_with_no_reward():
    short = segment(3)
    padded = pad_to_length(short, 5)
    assert (len(padded), padded.end, padded.id) == (5, 3, short.id)
    np.testing.assert_array_equal(padded.live, [True, True, True, False, False])
    np.testing.assert_array_equal(padded.obs[3:], np.repeat(short.next_obs[-1:], 2, 0))
    np.testing.assert_array_equal(padded.next_obs[3:], np.repeat(short.next_obs[-1:], 2, 0))
    np.testing.assert_array_equal(padded.acts[3:], 0.0)
    np.testing.assert_array_equal(padded.true_rewards, [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(padded.reward_terms["alive"], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(padded.render_states[:, 0], [0, 1, 2, 2, 2])
    assert pad_to_length(segment(5), 5).end == 5  # ended on its last step: nothing to pad
    with pytest.raises(FeedbackError) as err:
        pad_to_length(segment(6), 5)
    assert "cannot pad a 6-step segment" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        Segment(obs=short.obs, acts=short.acts, next_obs=short.next_obs,
                true_rewards=short.true_rewards, end=4)
    assert "segment end must be between 1 and its 3 steps" in one_line(err)


def test_a_store_keeps_where_the_episode_ended(tmp_path):
    padded, lived = pad_to_length(segment(3), 5), segment(5)
    with FeedbackStore(tmp_path / "feedback.db") as store:
        store.add_segments([padded, lived])
        again, whole = store.get_segments([padded.id, lived.id])
    assert (again.end, whole.end) == (3, None)
    np.testing.assert_array_equal(again.live, padded.live)


def recorded_segments(limit: int, length: int, steps: int, seed: int = 0) -> list[Segment]:
    venv = LearnedRewardVecEnv(DummyVecEnv([lambda: gym.wrappers.TimeLimit(Balance(limit),
                                                                           limit)]),
                               env_id="Balance", warn_without_model=False)
    recorder = SegmentRecorder(venv, "Balance", length, source="random")
    recorder.seed(seed)
    recorder.action_space.seed(seed)
    recorder.reset()
    for _ in range(steps):
        recorder.step(np.array([recorder.action_space.sample()]))
    return recorder.drain()


def test_the_recorder_pads_episodes_that_end_and_drops_those_cut_by_time():
    ended = recorded_segments(limit=1000, length=10, steps=600)
    assert ended and all(len(s) == 10 for s in ended)
    tails = [s for s in ended if s.end is not None]
    assert tails, "random balancing fails within 600 steps"
    for tail in tails:
        assert tail.true_return == tail.end  # reward 1 while alive, nothing after
    # Under a short time limit most episodes are cut off: only those that failed are kept.
    cut = recorded_segments(limit=4, length=10, steps=400)
    assert all(abs(s.next_obs[s.end - 1, 0]) > 1.0 for s in cut)  # each one fell
    assert len(cut) < 400 / 4 / 2  # and most were cut by time, their tails dropped


def test_the_learned_level_makes_living_worth_what_the_labels_say():
    """Reward 1 per lived step: a fitted model must reward living above the absorbing state.

    With the old zero-mean level, about half the lived steps got a negative reward, and
    an agent was taught to end its episodes.
    """
    segments = recorded_segments(limit=1000, length=10, steps=4000, seed=1)
    model = RewardModel(Balance.observation_space, Balance.action_space, seed=0)
    teacher = make_teacher("oracle", seed=0)
    rng = np.random.default_rng(0)
    pairs = np.array([rng.choice(len(segments), 2, replace=False) for _ in range(300)])
    answers = teacher.answer_segments([segments[i] for i in pairs[:, 0]],
                             [segments[j] for j in pairs[:, 1]])
    report = model.fit(segments, pairs, answers, epochs=40)
    assert model.anchored and report.heldout_agreement > 0.8
    assert model.absorbing_reward() == pytest.approx(0.0, abs=1e-6)
    lived = np.concatenate([s.obs[s.live] for s in segments])
    acts = np.concatenate([s.acts[s.live] for s in segments])
    rewards = model.predict(lived, acts)
    assert np.mean(rewards > 0) > 0.95, "lived steps must be worth more than the end"
    # The returns that order segments are those of the absorbing state too.
    np.testing.assert_array_equal(np.argsort(model.segment_returns(segments[:50])),
                                  np.argsort(model.member_returns(segments[:50]).mean(0)))
    assert np.corrcoef(model.segment_returns(segments), true_returns(segments))[0, 1] > 0.8


def test_saved_models_keep_their_level(tmp_path):
    segments = recorded_segments(limit=1000, length=10, steps=1000, seed=2)
    model = RewardModel(Balance.observation_space, Balance.action_space, seed=0)
    pairs = np.array([[i, i + 1] for i in range(0, len(segments) - 1, 2)])
    answers = make_teacher("oracle").answer_segments([segments[i] for i in pairs[:, 0]],
                                            [segments[j] for j in pairs[:, 1]])
    model.fit(segments, pairs, answers, epochs=5)
    loaded = RewardModel.load(model.save(tmp_path / "model"))
    assert loaded.anchored
    np.testing.assert_allclose(loaded.segment_returns(segments), model.segment_returns(segments),
                               rtol=1e-5, atol=1e-5)


def test_an_agent_on_the_fitted_reward_lives_longer_than_a_random_policy():
    """The whole chain on a tiny unstable env: padded segments, oracle labels, a fit, the
    batched learned reward, PPO. (The level itself is pinned down by the test above: on
    this easy env even an unanchored reward teaches balancing.)
    """
    from stable_baselines3 import PPO

    segments = recorded_segments(limit=100, length=10, steps=3000, seed=3)
    model = RewardModel(Balance.observation_space, Balance.action_space, seed=0)
    rng = np.random.default_rng(1)
    pairs = np.array([rng.choice(len(segments), 2, replace=False) for _ in range(200)])
    answers = make_teacher("oracle", seed=0).answer_segments(
        [segments[i] for i in pairs[:, 0]], [segments[j] for j in pairs[:, 1]])
    model.fit(segments, pairs, answers, epochs=40)

    def episode_lengths(agent=None, episodes=20) -> float:
        env = gym.wrappers.TimeLimit(Balance(100), 100)
        env.action_space.seed(0)
        lengths = []
        for episode in range(episodes):
            obs, _ = env.reset(seed=100 + episode)
            steps, done = 0, False
            while not done:
                action = env.action_space.sample() if agent is None else agent.predict(
                    obs, deterministic=True)[0]
                obs, _, terminated, truncated, _ = env.step(action)
                steps, done = steps + 1, terminated or truncated
            lengths.append(steps)
        return float(np.mean(lengths))

    venv = LearnedRewardVecEnv(
        DummyVecEnv([lambda: gym.wrappers.TimeLimit(Balance(100), 100)] * 2), model,
        env_id="Balance")
    agent = PPO("MlpPolicy", venv, n_steps=256, batch_size=64, seed=0, device="cpu")
    agent.learn(6144)
    random_length, learned_length = episode_lengths(), episode_lengths(agent)
    assert learned_length > 1.5 * random_length, (learned_length, random_length)


@pytest.mark.parametrize("name", ["HalfCheetah-v0", "Hopper-v0", "Reacher-v0", "Walker2d-v0"])
def test_the_env_table_says_which_episodes_end_and_they_do(name):
    from rlhf_envs import ENVS, EPISODE_ENDS, episode_end

    assert set(EPISODE_ENDS) == set(ENVS)
    env = gym.make(f"rlhf_envs/{name}", warn_without_model=False)
    env.reset(seed=0)
    env.action_space.seed(0)
    ended = False
    for _ in range(300):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated:
            ended = True
            break
        if truncated:
            env.reset()
    assert ended == (episode_end(name) is not None)


def test_pay_for_living_reads_how_a_learned_reward_values_staying_alive():
    from benchmarks.episode_ends import pay_for_living

    rng = np.random.default_rng(0)
    progress = rng.normal(size=500)
    true = progress + 1.0  # Walker2d: forward progress plus a healthy reward of 1 a step
    assert pay_for_living(true, 3.0 * true)["extra_pay_for_living"] == pytest.approx(0.0,
                                                                                     abs=1e-9)
    lunges = pay_for_living(true, 3.0 * progress)  # the same progress, nothing for living
    assert lunges["extra_pay_for_living"] == pytest.approx(-1.0)
    assert lunges["slope"] == pytest.approx(3.0) and lunges["r"] == pytest.approx(1.0)
    clings = pay_for_living(true, 2.0 * (progress + 3.0) + rng.normal(0, 0.1, 500))
    assert clings["extra_pay_for_living"] == pytest.approx(2.0, abs=0.05) and clings["r"] < 1
    standing = pay_for_living(np.ones(50), rng.normal(size=50))  # no line through a point
    assert set(standing.values()) == {None}


def test_episode_ends_names_a_folder_that_is_not_a_finished_run(tmp_path, capsys):
    from benchmarks.episode_ends import main

    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(SystemExit):
        main([str(tmp_path)])
    assert (f"{tmp_path} is not a finished learned-reward run directory: no checkpoint/agent, "
            "reward_model, feedback.db") in capsys.readouterr().err
