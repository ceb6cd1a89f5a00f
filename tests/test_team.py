"""A team: training posts queries to a shared store and trains on while scripted people answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agents.config import RunConfig
from agents.loop import run
from feedback.scripted_annotator import main as annotator_main
from feedback.store import FeedbackStore

ROOT = Path(__file__).parent.parent


def test_training_takes_the_answers_of_two_people_at_their_own_pace(backend, tmp_path):
    address = backend.address("team")
    FeedbackStore(address).close()  # the team's store exists before anyone starts
    people = [subprocess.Popen(
        [sys.executable, "-m", "feedback.scripted_annotator", "--store", address, "--run-id",
         "reacher-1", "--annotator", name, "--seconds", seconds, "--idle", "120"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True) for name, seconds in
        (("fast", "0.01"), ("slow", "0.15"))]
    try:
        metrics = run(RunConfig(env_id="Reacher-v0", teacher="people", store=address,
                                run_id="reacher-1", labels=24, iterations=2,
                                timesteps=2_048, n_envs=2, min_new_answers=8,
                                answer_timeout=120, out=tmp_path / "run", progress=False))
    finally:
        for person in people:
            person.terminate()
            person.wait(timeout=30)
    with FeedbackStore(address) as store:
        labels = store.labels("reacher-1")
        assert store.leases() == [] or all(q in {p.id for p in store.pending_queries()}
                                           for q, *_ in store.leases())
    assert {lab.annotator for lab in labels} == {"fast", "slow"}
    assert len({lab.query_id for lab in labels}) == len(labels)  # no pair answered twice
    assert metrics["teacher"] == "people" and metrics["labels_used"] >= 16
    assert metrics["labels_used"] <= len(labels)  # answers may come after the last refit
    assert not (tmp_path / "run" / "feedback.db").exists()  # everything went to the team's


def test_scripted_annotator_refuses_bad_input_in_one_line(tmp_path, capsys):
    assert annotator_main(["--store", str(tmp_path / "s.db"), "--run-id", "r",
                           "--annotator", "x", "--seconds", "-1"]) == 2
    assert annotator_main(["--store", str(tmp_path / "s.db"), "--run-id", "r",
                           "--annotator", "x", "--teacher", "nobody"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors)


@pytest.mark.parametrize("repeat_share", [0.0, 0.5])
def test_two_labeling_sessions_on_one_run_never_show_the_same_pair(backend, repeat_share):
    from feedback.text import text_segment
    from feedback.ui.sessions import CompareSession
    from feedback.ui.text_pages import TextRenderer

    address = backend.address("sessions")
    segments = [text_segment("p", f"completion {k}", k, task="t") for k in range(8)]
    with FeedbackStore(address) as store:
        store.add_segments(segments)
        store.add_queries([(segments[k].id, segments[k + 1].id) for k in range(0, 8, 2)],
                          run_id="run-7")
        store.add_queries([(segments[1].id, segments[2].id)], run_id="another-run")
    stores = [FeedbackStore(address), FeedbackStore(address)]
    sessions = [CompareSession(store, "text/t", name, 10, repeat_share=repeat_share,
                               run_id="run-7", seed=seed,
                               make_renderer=lambda size: TextRenderer())
                for seed, (store, name) in enumerate(zip(stores, ("ana", "bo")))]
    try:
        shown = {name: [] for name in ("ana", "bo")}
        for _ in range(20):
            for session in sessions:
                pair = session.next_pair(timeout=1.0)
                if pair not in (None, "wait"):
                    shown[session.annotator].append(pair.key)
                    session.answer(pair.key, "left", 1.0)
        assert shown["ana"] and shown["bo"]                      # both got work
        assert not set(shown["ana"]) & set(shown["bo"])           # never the same pair
        with FeedbackStore(address) as store:
            assert store.pending_queries("run-7") == []
            assert len(store.pending_queries("another-run")) == 1  # not this run's
    finally:
        for session, store in zip(sessions, stores):
            session.close()
            store.close()
    with FeedbackStore(address) as store:
        assert store.leases() == []                               # closing let go of claims


def test_the_annotator_report_counts_speed_and_agreement(tmp_path, capsys):
    import json

    from feedback.report import main as report_main
    from feedback.text import text_segment

    segments = [text_segment("p", f"c{k}", k, task="t") for k in range(6)]
    with FeedbackStore(tmp_path / "s.db") as store:
        store.add_segments(segments)
        q = store.add_queries([(segments[0].id, segments[1].id),
                               (segments[2].id, segments[3].id)], run_id="r")
        [swapped] = store.add_queries([(segments[1].id, segments[0].id)], run_id="r")
        store.add_labels([(q[0], "left"), (q[1], "skip")], "ana", annotator_kind="human",
                         seconds=2.0)
        store.add_labels([(swapped, "right")], "ana", annotator_kind="human", seconds=4.0)
        store.add_labels([(q[0], "right")], "bo", annotator_kind="human", seconds=1.0)
        store.claim_query("cy", run_id="r")  # nothing left: no lease
    assert report_main([str(tmp_path / "s.db"), "--run-id", "r", "--out",
                        str(tmp_path / "rep")]) == 0
    figures = json.loads((tmp_path / "rep" / "annotators.json").read_text())
    ana, bo = figures["ana"], figures["bo"]
    assert (ana["answers"], ana["skips"], ana["median_seconds"]) == (3, 1, 2.0)
    assert ana["answers_per_hour"] == 3600 * 3 / 8.0
    assert (ana["repeats"], ana["self_consistency"]) == (1, 1.0)       # same answer, swapped
    assert bo["agreement_with_others"] == 0.0 and bo["shared"] == 2
    assert (tmp_path / "rep" / "annotators.png").stat().st_size > 1000
    assert "| ana |" in capsys.readouterr().out
    assert report_main([str(tmp_path / "missing.db")]) == 2


def test_compare_refuses_a_run_id_without_a_shared_store(tmp_path, capsys):
    from rlhf_envs.compare import main as compare_main

    assert compare_main(["--env", "Reacher-v0", "--from-run", str(tmp_path), "--run-id",
                         "r"]) == 2
    assert compare_main(["--env", "Reacher-v0", "--store", str(tmp_path / "s.db"),
                         "--run-id", "r", "--mode", "rate"]) == 2
    assert compare_main(["--env", "Reacher-v0", "--store", str(tmp_path / "s.db"),
                         "--run-id", "r", "--overlap-share", "2"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and "--run-id answers" in errors[0] and "overlap" in errors[2]


def test_an_undone_answer_stays_claimed_by_its_annotator(tmp_path):
    from feedback.text import text_segment
    from feedback.ui.sessions import CompareSession
    from feedback.ui.text_pages import TextRenderer

    segments = [text_segment("p", f"c{k}", k, task="t") for k in range(4)]
    with FeedbackStore(tmp_path / "s.db") as store:
        store.add_segments(segments)
        store.add_queries([(segments[0].id, segments[1].id), (segments[2].id, segments[3].id)],
                          run_id="r")
        session = CompareSession(store, "text/t", "ana", 5, repeat_share=0, run_id="r",
                                 make_renderer=lambda size: TextRenderer())
        try:
            pair = session.next_pair(timeout=5.0)
            session.answer(pair.key, "left", 1.0)
            assert session.undo().key == pair.key
            assert (pair.key, "ana") in {(q, who) for q, who, _ in store.leases()}
            assert store.claim_query("bo", run_id="r") is None   # both are ana's now
        finally:
            session.close()
        assert store.leases() == []
