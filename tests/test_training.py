"""The RLHF loop end to end: CLI errors, SAC with relabelling, kill and resume."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from agents.config import check_config, steps_per_iteration
from agents.loop import RunConfig, label_targets, relabel_replay_buffer, run
from agents.run_dir import checkpoint_dir
from agents.train import main
from feedback.reward_model import RewardModel
from feedback.store import FeedbackStore

ROOT = Path(__file__).parent.parent


def train(argv, capsys):
    code = main(argv)
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("argv, message", [
    (["--env", "Teleport-v0"], "unknown env 'Teleport-v0'"),
    (["--env", "Reacher-v0", "--algo", "dqn"], "unknown algo 'dqn'"),
    (["--env", "Reacher-v0", "--teacher", "psychic"], "unknown teacher 'psychic'"),
    (["--env", "Reacher-v0", "--labels", "-1"], "--labels must be at least 0"),
    (["--env", "Reacher-v0", "--device", "tpu"], "unknown device 'tpu'"),
    (["--env", "Reacher-v0", "--baseline", "/nonexistent"], "no metrics.json there"),
    (["--env", "Reacher-v0", "--labels", "0"], "--labels 0 leaves nothing to learn"),
    (["--env", "Reacher-v0", "--iterations", "0"], "--iterations must be at least 1, got 0"),
    (["--env", "Reacher-v0", "--n-envs", "-2"], "--n-envs must be at least 1, got -2"),
    (["--env", "Reacher-v0", "--timesteps", "0"], "--timesteps must be at least 1, got 0"),
    (["--env", "Reacher-v0", "--timesteps", "100"],
     "--timesteps 100 is less than this run can train: at least 16384, one of its PPO "
     "rollouts of 2048 steps (n_steps 256 x 8 envs) for each of 8 iterations"),
    (["--env", "Reacher-v0", "--timesteps", "100000"], "use 98304 or 100352"),
    (["--env", "Reacher-v0", "--algo", "sac", "--timesteps", "5"],
     "at least 64, one of its steps of all 8 envs at once for each of 8 iterations"),
    (["--env", "Reacher-v0", "--algo", "sac", "--timesteps", "1001"], "use 1000 or 1008"),
    (["--env", "Reacher-v0", "--query-strategy", "psychic"], "unknown query strategy"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    code, err = train([*argv, "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and message in err and "\n" not in err


def test_the_parser_is_made_from_run_config_so_defaults_exist_once():
    from agents.config import RunConfig, build_parser, config_from_args

    parser = build_parser()
    assert config_from_args(parser.parse_args(["--env", "Reacher-v0"])) == RunConfig("Reacher-v0")
    config = config_from_args(parser.parse_args(
        ["--env", "Reacher-v0", "--no-progress", "--n-envs", "3", "--out", "x", "--true-reward"]))
    assert (config.progress, config.n_envs, config.out, config.true_reward) == (
        False, 3, Path("x"), True)
    text = parser.format_help()
    assert "(default 49152)" in text and "--query-strategy" in text


def test_unwritable_out_and_resume_without_checkpoint(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, err = train(["--env", "Reacher-v0", "--out", str(blocker / "run")], capsys)
    assert code == 2 and "cannot write to --out" in err and "\n" not in err
    code, err = train(["--env", "Reacher-v0", "--resume", "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and "no checkpoint" in err and "\n" not in err


def test_label_schedule_front_loads_and_spends_the_budget():
    targets = label_targets(200, 8, 0.25)
    assert targets[0] == 50 and targets[-1] == 200
    steps = np.diff(targets)
    assert (steps >= 0).all() and steps[0] > steps[-1]
    assert label_targets(10, 1, 0.25) == [10]


@pytest.mark.parametrize("timesteps, iterations, given, longest", [
    (301_056, 8, None, 38_912),  # the MuJoCo grids' steps: the table's 8 refits
    (49_152, 8, None, 6_144),  # a short run keeps its 8
    (1_001_472, 27, None, 38_912),  # rl-zoo3's 1M: 8 refits would be 125k steps apart
    (1_001_472, 8, 8, 126_976),  # --iterations is exactly that many
])
def test_a_long_run_refits_often_enough(timesteps, iterations, given, longest):
    config = RunConfig(env_id="Hopper-v0", timesteps=timesteps, iterations=given)
    settings = check_config(config)
    steps = steps_per_iteration(config, settings)
    assert settings.loop.iterations == len(steps) == iterations
    assert sum(steps) == timesteps and max(steps) == longest
    if given is None:  # 37,632 steps apart on average, in whole rollouts of 2,048
        assert timesteps / iterations <= settings.loop.max_steps_per_iteration


def test_sac_runs_end_to_end_and_relabels_its_replay_buffer(tmp_path):
    out = tmp_path / "sac"
    metrics = run(RunConfig(env_id="Reacher-v0", algo="sac", labels=30, timesteps=1_200,
                            iterations=2, n_envs=2, out=out, progress=False))
    assert metrics["labels_used"] == 30 and metrics["algo"] == "sac"
    assert metrics["timesteps"] == 1_200  # SAC learns step by step: exactly as asked
    assert 0 <= metrics["reward_agreement_oracle"] <= 1  # on the agent's fresh segments
    for name in ("metrics.json", "report.md", "policy.zip", "feedback.db", "rollout.mp4",
                 "reward_model/card.json", "returns.png"):
        assert (out / name).exists(), name
    assert any((out / "tensorboard").rglob("events.out.tfevents*"))

    # Relabelling: every stored reward becomes the refitted model's prediction.
    from stable_baselines3 import SAC
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("rlhf_envs:rlhf_envs/Reacher-v0", n_envs=2)
    agent = SAC("MlpPolicy", venv, learning_starts=50, buffer_size=1_000, seed=0)
    agent.learn(120)
    model = RewardModel.load(out / "reward_model")
    relabel_replay_buffer(agent, model)
    buffer, filled = agent.replay_buffer, agent.replay_buffer.pos
    obs = buffer.observations[:filled].reshape(-1, venv.observation_space.shape[0])
    acts = agent.policy.unscale_action(buffer.actions[:filled].reshape(-1, 2))
    np.testing.assert_allclose(buffer.rewards[:filled].ravel(), model.predict(obs, acts),
                               rtol=1e-5, atol=1e-6)


def test_sigkill_then_resume_finishes_without_asking_twice(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "agents.train", "--env", "Reacher-v0", "--labels", "60",
            "--timesteps", "16384", "--iterations", "4", "--n-envs", "4", "--out", str(out),
            "--no-progress"]
    first = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = out / "checkpoint" / "state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if state.exists() and json.loads(state.read_text())["iteration"] >= 1:
            break
        time.sleep(0.05)
    assert first.poll() is None, "the run ended before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed = json.loads(state.read_text())
    killed_at = killed["iteration"]
    assert killed_at < 4 and killed["cpu_seconds"] > 0
    killed["cpu_seconds"] += 1000.0  # so that the sum below shows the first part counted
    state.write_text(json.dumps(killed))

    resumed = subprocess.run([*argv, "--resume"], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labels_used"] == 60
    assert metrics["cpu_seconds"] > killed["cpu_seconds"]  # the run's CPU time, both parts
    history = json.loads((out / "history.json").read_text())
    assert [h["iteration"] for h in history] == [0, 1, 2, 3]
    with FeedbackStore(out / "feedback.db") as store:
        pairs = [frozenset((q.left_id, q.right_id)) for q in store.pending_queries()]
        labels = store.labels()
        asked = store.asked_pairs()
    assert not pairs  # every query answered
    assert len(labels) == len({lab.query_id for lab in labels}) == len(asked) == 60
    answers = metrics["answers"]  # the labels by answer: the oracle never skips here
    assert list(answers) == ["left", "right", "equal", "skip"] and answers["skip"] == 0
    assert answers == {a: sum(lab.answer == a for lab in labels) for a in answers}
    assert metrics["timesteps"] == 16384  # exactly what was asked, across the kill
    # PPO's reward normalisation went on from the checkpoint's statistics (it counts every
    # step once: 2,000 random ones, then the agent's), and was saved with the run.
    scale = json.loads((out / "reward_normalization.json").read_text())
    assert scale["count"] == pytest.approx(2_000 + 16_384)


def test_reward_hacking_is_learned_up_true_down_over_two_iterations():
    from agents.monitoring import reward_hacking

    def history(learned, true):
        return [{"learned_return_mean": a, "true_segment_return_mean": b}
                for a, b in zip(learned, true)]

    assert reward_hacking(history([1, 2, 3], [5, 4, 3]))
    assert not reward_hacking(history([1, 2, 3], [3, 4, 5]))  # both rise: fine
    assert not reward_hacking(history([1, 2, 3], [5, 4, 4]))  # true did not keep falling
    assert not reward_hacking(history([2, 3], [4, 3]))  # too short to tell
    assert not reward_hacking(history([1, None, 3], [5, 4, 3]))


def test_oracle_agreement_orders_fresh_pairs_by_true_return_and_skips_ties():
    from agents.monitoring import oracle_agreement

    true = np.array([1.0, 2.0, 5.0, 3.0, 4.0, 4.0, 7.0])  # pairs (1,2) (5,3) (4,4); 7 unpaired
    assert oracle_agreement(np.array([0.1, 0.2, 0.9, 0.3, 0.0, 1.0, 0.0]), true) == 1.0
    assert oracle_agreement(np.array([0.3, 0.2, 0.9, 0.3, 0.0, 1.0, 0.0]), true) == 0.5
    assert oracle_agreement(np.array([0.0, 1.0]), np.array([2.0, 2.0])) is None


def test_a_crash_in_mid_swap_resumes_from_the_complete_checkpoint(tmp_path):
    assert checkpoint_dir(tmp_path) == tmp_path / "checkpoint"  # none yet: the usual name
    half = tmp_path / "checkpoint.new"
    (half / "agent").mkdir(parents=True)  # a save cut short: no state.json written yet
    old = tmp_path / "checkpoint.old"
    old.mkdir()
    (old / "state.json").write_text("{}")
    assert checkpoint_dir(tmp_path) == old  # renamed away, the new one not complete
    (half / "state.json").write_text("{}")
    assert checkpoint_dir(tmp_path) == half  # complete, but not yet renamed into place


def test_reward_term_needs_true_reward_and_a_known_term(capsys, tmp_path):
    code, err = train(["--env", "Reacher-v0", "--reward-term", "clicks", "--out",
                       str(tmp_path / "run")], capsys)
    assert code == 2 and "--reward-term trains on a term of the true reward" in err
    code, err = train(["--env", "Reacher-v0", "--true-reward", "--reward-term", "clicks",
                       "--timesteps", "16384", "--no-progress", "--out", str(tmp_path / "r")],
                      capsys)
    assert code == 2 and "no reward term 'clicks' in this env; its terms: " in err
    assert "\n" not in err


def test_evaluation_samples_actions_where_the_env_says_so_and_repeats():
    from stable_baselines3 import PPO

    from agents.envs import evaluate
    from agents.hyperparams import settings_for

    assert settings_for("Highway-v0", "ppo").loop.eval_deterministic is False
    assert settings_for("Reacher-v0", "ppo").loop.eval_deterministic is True
    agent = PPO("MlpPolicy", gym.make("rlhf_envs/Reacher-v0"), seed=0)
    sampled = evaluate("rlhf_envs/Reacher-v0", 2, 5, agent, deterministic=False)
    again = evaluate("rlhf_envs/Reacher-v0", 2, 5, agent, deterministic=False)
    argmax = evaluate("rlhf_envs/Reacher-v0", 2, 5, agent)
    assert sampled.returns == again.returns != argmax.returns
    assert sampled.summary()["eval_deterministic"] is False
    assert argmax.summary()["eval_deterministic"] is True
