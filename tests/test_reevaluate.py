"""benchmarks.reevaluate: a grid's final agents on many more episodes, grouped by cell,
each group against the true-reward one with a two-level bootstrap interval."""

import json

import gymnasium as gym
import pytest
import torch
from stable_baselines3 import PPO

import rlhf_envs  # noqa: F401
from benchmarks import reevaluate
from benchmarks.reevaluate import REEVALUATION_SEED, compare, group_of, main
from rlhf_envs.sb3.checkpoint import save_agent

torch.set_num_threads(1)
ENV = "rlhf_envs/Hopper-v0"  # a random policy falls within a few dozen steps


def finished_run(folder, name: str, seed: int, agent: PPO) -> None:
    run = folder / name
    save_agent(agent, run / "checkpoint" / "agent")
    (run / "metrics.json").write_text(json.dumps(
        {"env_id": ENV, "seed": seed, "eval_deterministic": False}))


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """Seed 0's true-reward and oracle runs hold the same agent; seed 1's oracle run
    another; an unfinished run has no checkpoint."""
    folder = tmp_path_factory.mktemp("runs") / "Hopper-v0-ppo-2048"
    agents = [PPO("MlpPolicy", gym.make(ENV), n_steps=64, seed=s, device="cpu",
                  policy_kwargs=dict(net_arch=[8])) for s in (0, 1)]
    finished_run(folder, "Hopper-v0_ppo_true_reward_seed0", 0, agents[0])
    finished_run(folder, "Hopper-v0_ppo_oracle-100_seed0", 0, agents[0])
    finished_run(folder, "Hopper-v0_ppo_oracle-100_seed1", 1, agents[1])
    (folder / "Hopper-v0_ppo_oracle-100_seed2").mkdir()  # still running: no metrics yet
    return folder


def test_group_of_drops_env_algorithm_and_seed():
    assert group_of("Highway-v0_ppo_oracle-200_seed3") == "oracle-200"
    assert group_of("HalfCheetah-v0_sac_true_reward_seed0") == "true_reward"


def test_compare_means_over_seeds_and_bootstraps_the_difference():
    def run(group, seed, ended):
        return {"group": group, "seed": seed, "episodes": len(ended),
                "terminated": ended, "returns": [1.0 - e for e in ended]}

    table = compare([run("true_reward", 0, [0, 0, 0, 0]), run("true_reward", 1, [0, 0, 0, 0]),
                     run("oracle-200", 0, [1, 1, 0, 0]), run("oracle-200", 1, [1, 0, 0, 0])],
                    reps=500)
    row = table["oracle-200"]
    assert row["terminated_share"] == pytest.approx(0.375)  # the mean of 0.5 and 0.25
    point, low, high = row["terminated_share_difference"]
    assert point == pytest.approx(0.375) and 0 <= low < point < high <= 1
    assert row["true_return_mean_difference"][0] == pytest.approx(-0.375)
    assert row["seeds"] == [0, 1] and row["episodes"] == 8
    assert "terminated_share_difference" not in table["true_reward"]
    more = compare([run("true_reward", 0, [0, 0, 0, 0]), run("true_reward", 1, [0, 0, 0, 0]),
                    run("oracle-50", 0, [1, 1, 1, 0]), run("oracle-200", 0, [1, 1, 0, 0]),
                    run("oracle-200", 1, [1, 0, 0, 0])], reps=500)
    assert list(more) == ["oracle-50", "oracle-200", "true_reward"]  # labels as numbers
    assert more["oracle-200"] == row  # a cell's interval does not move as others join


def test_reevaluate_plays_each_finished_agent_on_its_own_seeds_and_keeps_them(
        grid, tmp_path, monkeypatch, capsys):
    out = tmp_path / "re.json"
    report = main([str(grid), "--episodes", "3", "--out", str(out)])
    assert sorted(report["runs"]) == ["Hopper-v0_ppo_oracle-100_seed0",
                                      "Hopper-v0_ppo_oracle-100_seed1",
                                      "Hopper-v0_ppo_true_reward_seed0"]
    same, other = (report["runs"][f"Hopper-v0_ppo_oracle-100_seed{s}"] for s in (0, 1))
    base = report["runs"]["Hopper-v0_ppo_true_reward_seed0"]
    # one seed's agents play the same episodes: the same agent plays them alike
    assert same["returns"] == base["returns"] and same["lengths"] == base["lengths"]
    assert other["returns"] != same["returns"] and len(other["returns"]) == 3
    assert same["deterministic"] is False and report["seed_offset"] == REEVALUATION_SEED
    assert set(report["groups"]) == {"oracle-100", "true_reward"}
    assert "| oracle-100 | 2 | 6 |" in capsys.readouterr().out
    # a rerun at the same episodes evaluates nothing again; at others, everything
    monkeypatch.setattr(reevaluate, "reevaluate",
                        lambda run, episodes: pytest.fail(f"{run} evaluated again"))
    assert main([str(grid), "--episodes", "3", "--out", str(out)])["runs"] == report["runs"]
    with pytest.raises(pytest.fail.Exception, match="evaluated again"):
        main([str(grid), "--episodes", "4", "--out", str(out)])


def test_a_folder_without_finished_runs_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path)])
    assert stop.value.code == 2
    assert "no finished run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--episodes", "0"])
    assert "--episodes must be at least 1" in capsys.readouterr().err
