"""The resumable grid runner: cells, their commands, a quick grid run twice."""

import json
import time

import pytest

from benchmarks.grid import (
    TRUE_REWARD,
    Cell,
    grid_cells,
    main,
    normalized,
    resumable,
    set_aside_partial,
    summary,
)


def test_a_grid_has_one_baseline_per_env_algo_and_seed_first():
    cells = grid_cells(["Reacher-v0"], ["ppo", "sac"], ["oracle", "mistake"], [100, 200],
                       seeds=2, timesteps=4096)
    baselines = [c for c in cells if c.teacher == TRUE_REWARD]
    assert len(baselines) == 2 * 2 and cells[: len(baselines)] == baselines
    assert len(cells) == len({c.name for c in cells}) == 4 + 2 * 2 * 2 * 2
    assert all(c.baseline() in baselines for c in cells)


def test_seeds_can_start_past_the_reported_ones(tmp_path):
    cells = grid_cells(["Hopper-v0"], ["ppo"], ["oracle"], [700], 2, 4096, first_seed=100)
    assert [c.seed for c in cells] == [100, 101, 100, 101]
    argv = cells[3].command(tmp_path)
    assert argv[argv.index("--seed") + 1] == "101"
    assert cells[3].name == "Hopper-v0_ppo_oracle-700_seed101"


def test_a_reward_term_cell_is_one_per_seed_and_trains_on_that_term(tmp_path):
    cells = grid_cells(["SlateRec-v0"], ["ppo"], ["oracle", "term:clicks"], [100, 350], 2,
                       4096)
    terms = [c for c in cells if c.teacher == "term:clicks"]
    assert [c.name for c in terms] == ["SlateRec-v0_ppo_term-clicks_seed0",
                                       "SlateRec-v0_ppo_term-clicks_seed1"]
    argv = terms[0].command(tmp_path)
    assert argv[argv.index("--true-reward") + 1 :][:2] == ["--reward-term", "clicks"]
    assert "--labels" not in argv and terms[0].baseline().teacher == TRUE_REWARD


def test_query_strategies_are_cells_of_their_own_but_share_the_baseline(tmp_path):
    cells = grid_cells(["Reacher-v0"], ["ppo"], ["oracle", "term:clicks"], [100], 1, 4096,
                       query_strategies=["uniform", "entropy"])
    names = [c.name for c in cells]
    assert names == ["Reacher-v0_ppo_true_reward_seed0", "Reacher-v0_ppo_oracle-100-uniform_seed0",
                     "Reacher-v0_ppo_oracle-100-entropy_seed0", "Reacher-v0_ppo_term-clicks_seed0"]
    argv = cells[2].command(tmp_path)
    assert argv[argv.index("--query-strategy") + 1] == "entropy"
    assert "--query-strategy" not in cells[0].command(tmp_path)
    assert cells[1].baseline() == cells[2].baseline() == cells[0]
    # without strategies, names (and so committed results) are what they were
    assert Cell("Reacher-v0", "ppo", "oracle", 100, 0, 4096).name == \
        "Reacher-v0_ppo_oracle-100_seed0"


def test_a_cell_resumes_from_its_checkpoint(tmp_path):
    cell = Cell("Reacher-v0", "ppo", "oracle", 200, 3, 4096, iterations=2, n_envs=2)
    argv = cell.command(tmp_path)
    assert argv[argv.index("--labels") + 1] == "200" and "--resume" not in argv
    assert argv[argv.index("--threads") + 1] == "1"
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "state.json").write_text("{}")
    assert "--resume" in cell.command(tmp_path)
    assert "--true-reward" in cell.baseline().command(tmp_path / "other")


def test_a_cell_killed_before_its_first_checkpoint_starts_over_in_an_empty_directory(tmp_path):
    """Its store is set aside, not reused: a fresh run would count its labels as asked."""
    out = tmp_path / "Reacher-v0_ppo_oracle-200_seed3"
    assert set_aside_partial(out) is None                 # nothing there yet
    out.mkdir()
    (out / "feedback.db").write_text("the killed start's labels")
    aside = set_aside_partial(out)
    assert aside == tmp_path / "Reacher-v0_ppo_oracle-200_seed3.aborted-1" and not out.exists()
    assert (aside / "feedback.db").read_text() == "the killed start's labels"
    out.mkdir()
    (out / "feedback.db").write_text("killed again")
    assert set_aside_partial(out).name.endswith(".aborted-2")
    (out := tmp_path / "resumable").mkdir()               # a crash mid-swap: checkpoint.new
    (out / "checkpoint.new").mkdir()
    (out / "checkpoint.new" / "state.json").write_text("{}")
    assert set_aside_partial(out) is None and resumable(out)


def test_scores_are_normalised_by_the_cells_own_baseline():
    def result(true, random=-40.0):
        return {"metrics": {"true_return_mean": true, "random_return_mean": random}}

    assert normalized(result(-15.0), result(-5.0)) == (25 / 35)
    assert normalized(result(-15.0), None) is None
    cell = Cell("Reacher-v0", "ppo", "oracle", 20, 0, 2048)
    done = {cell.name: result(-15.0), cell.baseline().name: result(-5.0)}
    assert "| Reacher-v0 | ppo | oracle | 20 | 1 | 0.714 |" in "\n".join(summary([cell], done))


def test_the_quick_grid_runs_then_counts_its_cells_done(tmp_path, capsys):
    argv = ["--quick", "--results", str(tmp_path / "results"), "--runs", str(tmp_path / "runs"),
            "--workers", "2", "--no-progress"]
    assert main(argv) == 0
    files = sorted((tmp_path / "results" / "quick").glob("*.json"))
    assert [f.stem for f in files] == ["Reacher-v0_ppo_oracle-20_seed0",
                                       "Reacher-v0_ppo_true_reward_seed0"]
    result = json.loads(files[0].read_text())
    assert result["metrics"]["timesteps"] == 2048 and result["metrics"]["labels_used"] == 20
    assert len(result["history"]) == 2 and result["cell"]["teacher"] == "oracle"
    assert "--resume" not in result["command"]  # the command it ran, not one to resume it
    assert result["metrics"]["cpu_seconds"] > 0
    assert result["machine"]["torch_threads"] == 1  # the cell's threads, not this process's
    # Each iteration's CPU time, split: the agent's learning, and asking and refitting.
    assert all(h["agent_cpu_seconds"] > 0 and h["feedback_cpu_seconds"] > 0
               for h in result["history"])
    parts = sum(h["agent_cpu_seconds"] + h["feedback_cpu_seconds"] for h in result["history"])
    assert parts <= result["metrics"]["cpu_seconds"]  # evaluation and start-up are outside
    assert "2 of 2 cells done" in capsys.readouterr().out
    stamps = [f.stat().st_mtime for f in files]
    started = time.monotonic()
    assert main(argv) == 0  # everything done already: nothing runs again
    assert time.monotonic() - started < 5 and [f.stat().st_mtime for f in files] == stamps


@pytest.mark.slow
def test_the_quick_grid_runs_on_a_local_ray_instance(tmp_path, capsys):
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e .[cluster])")
    argv = ["--quick", "--results", str(tmp_path / "results"), "--runs", str(tmp_path / "runs"),
            "--ray", "local", "--no-progress"]
    assert main(argv) == 0
    files = sorted((tmp_path / "results" / "quick").glob("*.json"))
    assert [f.stem for f in files] == ["Reacher-v0_ppo_oracle-20_seed0",
                                       "Reacher-v0_ppo_true_reward_seed0"]
    assert json.loads(files[0].read_text())["metrics"]["labels_used"] == 20
    assert "2 of 2 cells done" in capsys.readouterr().out
