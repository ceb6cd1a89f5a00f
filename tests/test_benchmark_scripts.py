"""label_efficiency, teachers and queries on canned cell results (--report-only): their
tables, statistics and plots, without training anything. The grid they run is
``tests/test_grid.py``'s."""

import json

import pytest

from benchmarks import label_efficiency, queries, teachers
from benchmarks.cell_scores import score_rows
from benchmarks.grid import TRUE_REWARD
from benchmarks.label_efficiency import QUICK


def result(cell, true_return: float, wall: float, **metrics) -> dict:
    return {"cell": {"teacher": cell.teacher, "labels": cell.labels, "seed": cell.seed},
            "metrics": {"true_return_mean": true_return, "random_return_mean": -40.0,
                        "labels_used": cell.labels, "wall_seconds": wall,
                        "reward_agreement_heldout": 0.9, "reward_agreement_oracle": 0.8,
                        "terminated_share": 0.0, "episode_length_mean": 50,
                        "reward_terms_mean": {}, **metrics},
            "history": [{"timesteps": 1024, "true_return_mean": true_return - 5},
                        {"timesteps": 2048, "true_return_mean": true_return}]}


def write_cells(folder, cells, score_of) -> None:
    """Each learned cell at -40 + 30 x score (baselines at -10: score 1), wall 100 s for
    baselines and 120 s for the others."""
    folder.mkdir(parents=True, exist_ok=True)
    for cell in cells:
        true = -10.0 if cell.teacher == TRUE_REWARD else -40 + 30 * score_of(cell)
        wall = 100.0 if cell.teacher == TRUE_REWARD else 120.0
        (folder / f"{cell.name}.json").write_text(json.dumps(result(cell, true, wall)))


def argv(tmp_path, out: str) -> list[str]:
    return ["--quick", "--report-only", "--results", str(tmp_path / "results"),
            "--out", str(tmp_path / out)]


def test_label_efficiency_reports_iqm_ci_cost_and_plots(tmp_path, capsys):
    cells = QUICK.cells(2)
    write_cells(tmp_path / "results" / QUICK.grid, cells,
                lambda c: {(10, 0): 0.5, (10, 1): 0.7, (20, 0): 0.9, (20, 1): 1.0}[
                    (c.labels, c.seed)])
    report = label_efficiency.main(argv(tmp_path, "le.json"))
    rows = {r["group"]: r for r in report["domains"]["quick"]["rows"]}
    assert rows[10]["score_iqm"] == pytest.approx(0.6) and rows[20]["scores"] == \
        pytest.approx([0.9, 1.0])
    assert rows[10]["score_low"] >= 0.5 and rows[10]["score_high"] <= 0.7
    assert rows[20]["loop_cost"] == pytest.approx(1.2) and rows[20]["oracle_agreement"] == 0.8
    out = capsys.readouterr().out
    assert "| oracle | 20 | 2 | 0.95 [0.90, 1.00] |" in out and "1.20x" in out
    assert "6 of 6 cells done" in out
    assert (tmp_path / "le.png").stat().st_size and (tmp_path / "le_curves.png").stat().st_size
    assert json.loads((tmp_path / "le.json").read_text())["domains"]["quick"]["curves"][
        TRUE_REWARD] == [[1024, -15.0], [2048, -10.0]]


def test_cells_not_done_are_left_out_and_counted(tmp_path, capsys):
    cells = QUICK.cells(2)
    write_cells(tmp_path / "results" / QUICK.grid, cells[:3], lambda c: 0.5)  # one learned
    report = label_efficiency.main(argv(tmp_path, "le.json"))
    assert [r["seeds"] for r in report["domains"]["quick"]["rows"]] == [1]
    assert "3 of 6 cells done" in capsys.readouterr().out


def test_teachers_and_queries_group_by_teacher_and_by_strategy(tmp_path, capsys):
    from benchmarks.label_efficiency import Domain
    from feedback.teachers import TEACHER_PRESETS

    by_teacher = Domain(QUICK.env, QUICK.algo, (20,), QUICK.timesteps, tuple(TEACHER_PRESETS),
                        iterations=2, n_envs=2, name="quick")
    by_strategy = Domain(QUICK.env, QUICK.algo, (20,), QUICK.timesteps,
                         query_strategies=(None, "uniform", "entropy"), iterations=2,
                         n_envs=2, name="quick")
    grid = tmp_path / "results" / "quick"
    write_cells(grid, by_teacher.cells(2), lambda c: 0.4 if c.teacher == "mistake" else 0.9)
    write_cells(grid, by_strategy.cells(2), lambda c: 0.5 if c.query_strategy else 0.9)
    rows = teachers.main(argv(tmp_path, "t.json"))["domains"]["Reacher-v0"]["rows"]
    assert [r["teacher"] for r in rows] == list(TEACHER_PRESETS)
    assert {r["teacher"]: r["score_iqm"] for r in rows}["mistake"] == pytest.approx(0.4)
    rows = queries.main(argv(tmp_path, "q.json"))["domains"]["Reacher-v0"]["rows"]
    scores = {r["group"]: r["score_iqm"] for r in rows}
    assert scores == pytest.approx({"disagreement": 0.9, "uniform": 0.5, "entropy": 0.5})
    assert "| oracle | entropy | 2 |" in capsys.readouterr().out


def test_the_highway_columns_come_from_its_metrics():
    cell = QUICK.cells(1)[1]
    done = {cell.name: result(cell, -20.0, 10.0, terminated_share=0.25,
                              reward_terms_mean={"high_speed_reward": 10.0}),
            cell.baseline().name: result(cell.baseline(), -10.0, 10.0, terminated_share=0.05,
                                         reward_terms_mean={"high_speed_reward": 5.0})}
    [row] = score_rows([cell.baseline(), cell], done, reps=100)
    assert row["terminated_share"] == 0.25 and row["true_terminated_share"] == 0.05
    assert row["speed_term"] == pytest.approx(0.2) and row["true_speed_term"] == 0.1


def test_the_loop_cost_is_cpu_time_where_every_run_has_it_else_wall_time():
    cells = QUICK.cells(2)
    done = {c.name: result(c, -20.0, 100.0 if c.teacher == TRUE_REWARD else 300.0,
                           cpu_seconds=100.0 if c.teacher == TRUE_REWARD else 110.0)
            for c in cells if c.labels in (0, 10)}

    def cost() -> tuple[float, str]:
        [row] = score_rows(cells, done, reps=10)
        return row["loop_cost"], row["loop_cost_of"]

    assert cost() == (pytest.approx(1.1), "cpu_seconds")
    done[cells[-1].baseline().name]["metrics"]["cpu_seconds"] = None  # resumed from before
    assert cost() == (pytest.approx(3.0), "wall_seconds")  # not a mix of the two
    # A baseline measured on another kind of machine is not compared with.
    for c in cells:
        if c.name in done:
            done[c.name]["machine"] = {"cpus": 2, "torch_threads": 1,
                                       "blas": {"kernels": "Haswell"}}
    done[cells[-1].baseline().name]["machine"]["torch_threads"] = 2  # the same machine
    done[cells[-1].baseline().name]["machine"]["cpu"] = {"model": "Xeon", "mhz": "2600.1"}
    done[cells[3].name]["machine"]["cpu"] = {"model": "Xeon", "mhz": "2599.9"}  # its pair
    assert cost() == (pytest.approx(3.0), "wall_seconds")
    done[cells[-1].baseline().name]["machine"]["blas"] = {"kernels": "SkylakeX"}
    assert cost()[0] == pytest.approx(1.1)  # the other seed's pair alone, both CPU timed
    done[cells[0].name]["machine"]["blas"] = {"kernels": "SkylakeX"}  # seed 0's baseline
    assert cost()[0] is None


def test_the_split_loop_cost_costs_the_agent_steps_as_the_baselines():
    cells = [c for c in QUICK.cells(2) if c.labels in (0, 10)]
    done = {}
    for c in cells:
        true = c.teacher == TRUE_REWARD
        # The same agent work, 50 CPU s dearer in the learned run from another cell's load;
        # 15 s of feedback steps on top.
        done[c.name] = result(c, -20.0, 100.0, cpu_seconds=100.0 if true else 165.0)
        done[c.name]["history"] = [{"agent_cpu_seconds": 45.0 if true else 70.0,
                                    "feedback_cpu_seconds": 0.0 if true else 7.5}] * 2
    [row] = score_rows(cells, done, reps=10)
    assert row["loop_cost"] == pytest.approx(1.65)
    assert row["loop_cost_split"] == pytest.approx(1.15)
    done[cells[-1].name]["machine"] = {"blas": {"kernels": "Haswell"}}  # seed 1's pair
    assert score_rows(cells, done, reps=10)[0]["loop_cost_split"] == pytest.approx(1.15)
    done[cells[-2].name]["machine"] = {"blas": {"kernels": "Haswell"}}  # and seed 0's
    assert score_rows(cells, done, reps=10)[0]["loop_cost_split"] is None
    for c in cells:  # runs from before the split was recorded, on one machine
        done[c.name]["history"], done[c.name]["machine"] = [{}], {}
    assert score_rows(cells, done, reps=10)[0]["loop_cost_split"] is None


def test_the_mean_baseline_score_divides_by_the_baselines_mean_not_each_seeds():
    cells = [c for c in QUICK.cells(2) if c.labels in (0, 10)]
    returns = {(TRUE_REWARD, 0): -10.0, (TRUE_REWARD, 1): 50.0, ("oracle", 0): -10.0,
               ("oracle", 1): -10.0}  # baselines 30 and 90 over random, learned both 30
    done = {c.name: result(c, returns[(c.teacher, c.seed)], 100.0) for c in cells}
    [row] = score_rows(cells, done, reps=200)
    assert row["scores"] == pytest.approx([1.0, 1 / 3])
    assert row["mean_base_iqm"] == pytest.approx(0.5)  # 30 over the baselines' mean 60
    # resampled baselines' means 30, 60 or 90 over random: scores 1, 0.5 or 1/3
    assert (row["mean_base_low"], row["mean_base_high"]) == pytest.approx((1 / 3, 1.0))
    assert row["twin_correlation"] is None  # two seeds say nothing of it


def test_the_twin_correlation_reads_whether_a_seeds_agents_covary():
    from benchmarks.cell_scores import mean_baseline_score

    def runs(*returns):
        return [{"true_return_mean": r, "random_return_mean": 0.0} for r in returns]

    assert mean_baseline_score(runs(1, 2, 3), runs(2, 4, 6), 10)["twin_correlation"] == \
        pytest.approx(1.0)
    assert mean_baseline_score(runs(1, 2, 3), runs(6, 4, 2), 10)["twin_correlation"] == \
        pytest.approx(-1.0)
    found = mean_baseline_score(runs(1, 2, 3), runs(-1, -1, -1), 10)  # no spread, below 0
    assert found == {"twin_correlation": None}


@pytest.mark.parametrize("domain, budget, seeds, expected", [
    ("Highway-v0-ppo", 100, 2, [("oracle", 100, 0), ("oracle", 100, 1), (TRUE_REWARD, 0, 0),
                                (TRUE_REWARD, 0, 1)]),
    # the proxy-trained cells have no budget: they run as the true-reward ones do
    ("SlateRec-v0-ppo", 350, 1, [("oracle", 350, 0), ("term:clicks", 0, 0),
                                 (TRUE_REWARD, 0, 0)]),
])
def test_budgets_runs_only_their_cells_and_the_baselines(tmp_path, monkeypatch, domain, budget,
                                                         seeds, expected):
    ran = []
    monkeypatch.setattr(label_efficiency, "run_grid",
                        lambda cells, *args, **kwargs: (ran.extend(cells), ({}, []))[1])
    report = label_efficiency.main(["--domains", domain, "--budgets", str(budget),
                                    "--seeds", str(seeds), "--results", str(tmp_path),
                                    "--out", str(tmp_path / "le.json"), "--no-progress"])
    assert sorted((c.teacher, c.labels, c.seed) for c in ran) == expected
    # one domain's grid ran; the report still sums up every domain (here: none done), the
    # others at the committed grids' seeds, not at this sitting's --seeds
    assert {name: found["seeds"] for name, found in report["domains"].items()} == {
        name: seeds if name == domain else label_efficiency.SEEDS
        for name in label_efficiency.DOMAINS}


def test_teachers_runs_only_the_teachers_asked_and_the_baselines(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(label_efficiency, "run_grid",
                        lambda cells, *args, **kwargs: (ran.extend(cells), ({}, []))[1])
    teachers.main(["--teachers", "mistake", "--seeds", "2", "--results", str(tmp_path),
                   "--out", str(tmp_path / "t.json")])
    assert sorted((c.teacher, c.labels, c.seed) for c in ran) == [
        ("mistake", 700, 0), ("mistake", 700, 1), (TRUE_REWARD, 0, 0), (TRUE_REWARD, 0, 1)]


def test_a_budget_no_domain_has_is_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        label_efficiency.main(["--domains", "Highway-v0-ppo", "--budgets", "1400",
                               "--results", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--budgets 1400: no domain asked has that budget" in err and \
        "[50, 100, 200, 700]" in err


def test_agreement_at_500_labels_is_read_at_each_runs_first_refit_past_500():
    from benchmarks.cell_scores import agreement_at

    def refits(*points):
        return [{"labels": n, "heldout_agreement": h, "oracle_agreement": o}
                for n, h, o in points]

    runs = [refits((300, 0.8, 0.8), (520, 0.9, 0.95), (700, 0.7, 0.7)),
            refits((480, 0.6, 0.6), (560, 0.94, None), (700, 0.7, 0.7)),
            refits((100, 0.5, 0.5), (350, 0.6, 0.6))]  # a 350-label run never gets there
    found = agreement_at(runs)
    assert found["at_labels"] == 540 and found["at_labels_seeds"] == 2
    assert found["at_labels_heldout_agreement"] == pytest.approx(0.92)
    assert found["at_labels_oracle_agreement"] == 0.95  # the one run that measured it
    assert agreement_at(runs[2:]) == {}


def test_label_noise_splits_a_runs_pairs_as_the_fit_did_and_counts_the_teachers_mistakes(
        tmp_path, cheetah_train):
    import numpy as np
    from gymnasium import spaces

    from benchmarks.label_noise import main
    from feedback.reward_model import RewardModel
    from feedback.segments import sample_pairs
    from feedback.store import FeedbackStore
    from feedback.teachers import make_teacher

    pairs = sample_pairs(len(cheetah_train), 200, np.random.default_rng(0))
    left, right = [cheetah_train[i] for i in pairs[:, 0]], [cheetah_train[i] for i in pairs[:, 1]]
    oracle = make_teacher("oracle").answer_segments(left, right)
    flipped = np.random.default_rng(1).random(len(pairs)) < 0.2
    answers = [{"left": "right", "right": "left"}[a] if f else a for a, f in zip(oracle, flipped)]
    model = RewardModel(spaces.Box(-np.inf, np.inf, (17,)), spaces.Box(-1, 1, (6,)), seed=0)
    fit = model.fit(cheetah_train, pairs, answers, epochs=5)
    run = tmp_path / "run"
    model.save(run / "reward_model")
    with FeedbackStore(run / "feedback.db") as store:
        store.add_segments(cheetah_train)
        queries = store.add_queries([(a.id, b.id) for a, b in zip(left, right)])
        store.add_labels(zip(queries, answers), "mistaken")

    found = main([str(run), "--out", str(tmp_path / "noise.json")])["runs"]["run"]
    assert found["heldout"]["pairs"] == fit.n_heldout
    assert found["heldout"]["model_agrees_with_teacher"] == pytest.approx(fit.heldout_agreement)
    assert found["trained"]["model_agrees_with_teacher"] == pytest.approx(fit.train_agreement)
    mistakes = found["heldout"]["pairs"] * found["heldout"]["teacher_contradicts_oracle"] + \
        found["trained"]["pairs"] * found["trained"]["teacher_contradicts_oracle"]
    assert round(mistakes) == flipped.sum()


def test_the_feedback_share_is_each_runs_cpu_outside_the_agent_averaged_over_runs():
    from benchmarks.cell_scores import feedback_share

    def run(*parts):
        return [{"agent_cpu_seconds": a, "feedback_cpu_seconds": f} for a, f in parts]

    runs = [run((8.0, 2.0), (9.0, 1.0)), run((3.0, 1.0)),
            [{"labels": 20}]]  # a run from before the split was recorded: left out
    assert feedback_share(runs) == pytest.approx((3 / 20 + 1 / 4) / 2)
    assert feedback_share(runs[2:]) is None


def test_the_answer_shares_pool_the_runs_that_record_them(tmp_path, capsys):
    from benchmarks.cell_scores import answer_shares

    skipper = {"left": 30, "right": 60, "equal": 0, "skip": 10}
    tier = {"left": 20, "right": 20, "equal": 60, "skip": 0}
    runs = [{"answers": skipper}, {"answers": tier}, {"labels_used": 100}]  # one from before
    pooled = answer_shares(runs)
    assert pooled["runs"] == 2 and list(pooled["shares"]) == list(skipper)
    assert pooled["shares"] == pytest.approx({"left": 0.25, "right": 0.4, "equal": 0.3,
                                              "skip": 0.05})
    assert answer_shares(runs[2:]) is None
    cells = QUICK.cells(2)
    grid = tmp_path / "results" / QUICK.grid
    write_cells(grid, cells, lambda c: 0.9)
    for cell in cells[2:]:  # the learned cells: at 20 labels skips, at 10 preferences only
        path = grid / f"{cell.name}.json"
        cell_result = json.loads(path.read_text())
        cell_result["metrics"]["answers"] = skipper if cell.labels == 20 else {
            "left": 6, "right": 4, "equal": 0, "skip": 0}
        path.write_text(json.dumps(cell_result))
    label_efficiency.main(argv(tmp_path, "le.json"))
    out = capsys.readouterr().out
    assert ("oracle 20: the labels by answer (2 runs recording them): left 30.0%, right 60.0%, "
            "equal 0.0%, skip 10.0%") in out
    assert "oracle 10: the labels by answer" not in out  # all preferences: nothing to say


def test_budgets_are_tabulated_in_numeric_order_and_strategies_by_name():
    from benchmarks.label_efficiency import _order

    assert sorted([700, 1400, 100, 350], key=_order) == [100, 350, 700, 1400]
    assert sorted(["uniform", "entropy"], key=_order) == ["entropy", "uniform"]
