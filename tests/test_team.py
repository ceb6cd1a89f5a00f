"""A team: training posts queries to a shared store and trains on while scripted people answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
