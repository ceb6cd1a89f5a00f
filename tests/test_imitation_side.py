"""benchmarks.imitation_side without its side venv: flags, the table, the skip paths.

Nothing here installs anything or starts imitation's side: where the script would set
its venv up, the path cannot hold one, or the installer is replaced.
"""

from __future__ import annotations

import json

import pytest
import torch

from agents.hyperparams import settings_for
from benchmarks import imitation_venv
from benchmarks.imitation_learning import encode, ppo_settings
from benchmarks.imitation_side import (
    FULL,
    QUICK,
    SetupError,
    main,
    parse_args,
)
from benchmarks.imitation_table import markdown_table

CANNED = {
    "envs": {"ours": "rlhf_envs/HalfCheetah-v0 = HalfCheetah-v5 (gymnasium 1.4.0)",
             "imitation": "HalfCheetah-v4 (gymnasium 0.29.1)"},
    "load_average": {"start": [5.0, 4.0, 3.0], "end": [5.5, 4.5, 3.5]},
    "machine_cpus": 2,
    "fit": {"pairs": 1000, "segment_length": 50, "epochs": 1, "batch_size": 64,
            "hidden_sizes": [64, 64], "ensemble_size": 3, "repeats": 5,
            "ours_one_member_seconds": 0.1, "ours_ensemble_seconds": 0.25,
            "imitation_seconds": 2.0},
    "wrapper": {"n_envs": 8, "rounds": 7,
                "ours": {"bare_steps_per_s": 10000, "wrapped_steps_per_s": 9500,
                         "stack_steps_per_s": 7000, "wrapped_ratio": 0.95,
                         "stack_ratio": 0.7},
                "imitation": {"bare_steps_per_s": 9000, "wrapped_steps_per_s": 5000,
                              "stack_steps_per_s": 4000, "wrapped_ratio": 0.556,
                              "stack_ratio": 0.444}},
    "learning": {"steps": 8192, "labels": [50], "seeds": 2, "runs": [
        {"seed": seed, "labels": 50, "true_reward_agent_return": 100.0 + seed,
         "random_return": -280.0,
         "true_reward_agent_cpu_seconds": 60.0,
         "ours": {"true_return": 50.0, "normalized_score": 0.5 + seed / 10,
                  "cpu_seconds": 80.0},
         "imitation": {"true_return": 0.0, "normalized_score": 0.3, "env_steps": 24192,
                       "cpu_seconds": 50.0}} for seed in (0, 1)]},
}


def test_quick_fills_what_was_not_given_and_flags_win():
    args = parse_args(["--quick", "--labels", "20", "30"])
    assert (args.steps, args.labels, args.seeds) == (QUICK["steps"], [20, 30], QUICK["seeds"])
    full = parse_args([])
    assert (full.steps, full.labels, full.seeds) == (FULL["steps"], FULL["labels"],
                                                     FULL["seeds"])
    assert full.parts == ["fit", "wrapper", "learning"]


def test_steps_that_are_no_whole_number_of_rollouts_end_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--steps", "1000"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "whole number of PPO rollouts" in err and len(err.splitlines()) == 1
    parse_args(["--steps", "1000", "--parts", "fit"])  # no learning: any steps will do
    with pytest.raises(SystemExit):  # the learning part runs one thread, as the grid
        parse_args(["--threads", "2"])
    parse_args(["--threads", "2", "--parts", "fit", "wrapper"])


def test_ppo_settings_are_read_from_the_hyperparams_table_at_run_time():
    settings = settings_for("HalfCheetah-v0", "ppo")
    rollout = settings.agent["n_steps"] * settings.loop.n_envs
    given = ppo_settings(QUICK["steps"])
    assert given["iterations"] == min(settings.loop.iterations, QUICK["steps"] // rollout)
    assert given["agent"]["gamma"] == settings.gamma
    assert given["n_envs"] == settings.loop.n_envs
    json.dumps(given)  # all of it travels to the side as JSON


def test_ppo_settings_go_to_the_side_as_json():
    assert encode({"policy_kwargs": {"activation_fn": torch.nn.ReLU, "net_arch": (64, 64)}}) == {
        "policy_kwargs": {"activation_fn": {"import": "torch.nn.modules.activation:ReLU"},
                          "net_arch": [64, 64]}}
    with pytest.raises(ValueError, match="cannot pass the PPO setting"):
        encode({"learning_rate": lambda progress: 3e-4 * progress})


def test_the_table_holds_every_part_of_a_result():
    table = markdown_table(CANNED)
    assert "HalfCheetah-v5" in table and "HalfCheetah-v4" in table
    assert "load average [5.0, 4.0, 3.0]" in table
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 2 + 2 + 5  # header and rule, fit, wrapper, learning
    assert "imitation takes 20.0x as long" in table and "imitation takes 8.0x" in table
    assert "0.950 (LearnedRewardVecEnv: 9,500 vs 10,000)" in table
    assert "| 0.55 (0.50, 0.60) | 0.30 (0.30, 0.30) |" in table
    assert "our true-reward agent 100 (100, 101), random -280" in table
    assert "CPU time per run (s) | 80 (80, 80) | 50 (50, 50) |" in table
    assert "our true-reward run: 60 (60, 60)" in table
    # two seeds: the IQM is their mean; imitation's 0.3 on both seeds has no spread
    assert "each seed against its own true-reward agent | 0.55 [0.50, 0.60] | " \
           "0.30 [0.30, 0.30] |" in table
    # against the baselines' mean 100.5 from random -280: (50 + 280) / 380.5
    assert f"agents' mean | {330 / 380.5:.2f} [" in table


def test_a_venv_path_that_cannot_hold_a_venv_skips_in_one_line(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    out = tmp_path / "result.json"
    assert main(["--venv", str(blocker / "venv"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].startswith("imitation_side: skipped: ")
    result = json.loads(out.read_text())
    assert "venv" in result["skipped"] and result["venv"] == str(blocker / "venv")


def test_a_failing_install_skips_with_its_reason(tmp_path, monkeypatch, capsys):
    def failing_install(venv):
        raise SetupError("pip install imitation==1.0.1 failed (exit 1): no network")

    monkeypatch.setattr(imitation_venv, "install_side_venv", failing_install)
    out = tmp_path / "result.json"
    assert main(["--venv", str(tmp_path / "side"), "--out", str(out), "--parts", "fit"]) == 0
    assert capsys.readouterr().out.strip() == (
        "imitation_side: skipped: pip install imitation==1.0.1 failed (exit 1): no network")
    assert json.loads(out.read_text())["skipped"].endswith("no network")


def test_a_side_venv_that_imports_imitation_is_reused(tmp_path, monkeypatch):
    python = tmp_path / "side" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")

    def no_install(venv):
        raise AssertionError("a working side venv was set up again")

    monkeypatch.setattr(imitation_venv, "side_imports", lambda path: path == python)
    monkeypatch.setattr(imitation_venv, "install_side_venv", no_install)
    assert imitation_venv.side_python(tmp_path / "side") == python


class FakeSide:
    """imitation's side, answering from canned figures and counting its runs."""

    def __init__(self, version: str = "1.0.1"):
        self.runs, self.version = [], version

    def ask(self, do: str, **request) -> dict:
        if do == "versions":
            return {"imitation": self.version}
        self.runs.append((request["seed"], request["labels"]))
        return {"true_return_mean": 20.0, "random_return_mean": -280.0, "labels_used":
                request["labels"], "timesteps": request["timesteps"], "env_steps": 9000,
                "reward_accuracy_train": 0.9, "wall_seconds": 12.0, "cpu_seconds": 10.0}


def test_the_learning_part_reuses_our_grid_cells_and_keeps_imitations_runs(tmp_path,
                                                                          monkeypatch):
    from benchmarks import imitation_learning
    from benchmarks.grid import TRUE_REWARD
    from benchmarks.label_efficiency import DOMAINS

    steps = FULL["steps"]
    ours = {c.name: {"metrics": {"true_return_mean": -40.0 if c.teacher == TRUE_REWARD
                                 else -160.0, "random_return_mean": -280.0,
                                 "labels_used": c.labels, "timesteps": steps,
                                 "reward_agreement_heldout": 0.9, "wall_seconds": 9.0,
                                 "cpu_seconds": 8.0}}
            for c in DOMAINS["HalfCheetah-v0-ppo"].cells(2) if c.labels in (0, 700)}
    asked = []
    monkeypatch.setattr(imitation_learning, "run_grid", lambda cells, runs, results, *a, **k: (
        asked.append((results.name, [c.name for c in cells])), (ours, []))[1])
    side = FakeSide()

    def learn(side):
        return imitation_learning.learning_side_by_side(side, steps, [700], 2, tmp_path / "r",
                                                        tmp_path, 1, 64, [64, 64])

    first = learn(side)
    [(grid, names)] = asked
    assert grid == DOMAINS["HalfCheetah-v0-ppo"].grid and set(names) == set(ours)
    assert side.runs == [(0, 700), (1, 700)]
    [row, _] = first["runs"]
    assert row["ours"]["normalized_score"] == 0.5 and row["imitation"]["normalized_score"] \
        == pytest.approx(300 / 240, abs=1e-3) and row["imitation"]["cpu_seconds"] == 10.0
    again = FakeSide()
    assert learn(again)["runs"] == first["runs"] and again.runs == []  # kept, not rerun
    with pytest.raises(imitation_learning.GridError, match="another imitation"):
        learn(FakeSide(version="1.0.2"))
