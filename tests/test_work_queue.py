"""A team answering one run's queries: leases, expiry, overlap, on both store backends."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from feedback.segments import cut_segments
from feedback.store import FeedbackStore

ROOT = Path(__file__).parent.parent


def store_with_queries(address: str, n: int, run_id: str = "run-1") -> list[int]:
    rng = np.random.default_rng(0)
    segments = cut_segments(rng.normal(size=(2 * n * 2 + 1, 3)), rng.normal(size=(4 * n, 2)),
                            rng.normal(size=4 * n), length=2)
    with FeedbackStore(address) as store:
        store.add_segments(segments)
        return store.add_queries([(segments[2 * k].id, segments[2 * k + 1].id)
                                  for k in range(n)], run_id=run_id)


def test_two_annotators_never_hold_one_query(backend):
    address = backend.address()
    ids = store_with_queries(address, 3)
    with FeedbackStore(address) as store:
        a, b = store.claim_query("ana", run_id="run-1"), store.claim_query("bo", run_id="run-1")
        c = store.claim_query("cy", run_id="run-1")
        assert {a.id, b.id, c.id} == set(ids) and a.run_id == "run-1"
        assert store.claim_query("dee", run_id="run-1") is None      # all three are held
        assert store.claim_query("dee", run_id="other-run") is None   # another run has none
        store.add_label(a.id, "left", "ana")
        assert [q for q, *_ in store.leases()] == sorted({b.id, c.id})   # the answer ends it
        assert store.release_leases("bo") == 1                          # bo's window closed
        again = store.claim_query("dee", run_id="run-1")
        assert again.id == b.id
        assert [q.id for q in store.pending_queries("run-1")] == sorted([b.id, c.id])
        assert store.pending_queries("other-run") == []


def test_an_expired_lease_goes_back_to_the_queue(backend):
    address = backend.address()
    [only] = store_with_queries(address, 1)
    with FeedbackStore(address) as store:
        assert store.claim_query("ana", lease_seconds=0.2).id == only
        assert store.claim_query("bo") is None
        time.sleep(0.3)
        assert store.claim_query("bo").id == only                       # recovered
        assert [(q, who) for q, who, _ in store.leases()] == [(only, "bo")]


def test_overlap_claims_hand_out_what_others_answered(backend):
    address = backend.address()
    first, second = store_with_queries(address, 2)
    with FeedbackStore(address) as store:
        assert store.claim_query("bo", overlap=True) is None             # nothing answered yet
        store.add_label(store.claim_query("ana").id, "left", "ana")
        assert store.claim_query("ana", overlap=True) is None            # not her own
        shared = store.claim_query("bo", overlap=True)
        assert shared.id == first and not store.leases()                 # no lease taken
        store.add_label(shared.id, "right", "bo")
        labels = store.labels(run_id="run-1")
        assert [(lab.query_id, lab.annotator) for lab in labels] == [(first, "ana"),
                                                                     (first, "bo")]
        assert store.labels(run_id="nope") == []


def test_four_processes_answer_every_query_exactly_once(backend):
    address = backend.address()
    ids = store_with_queries(address, 40)
    workers = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "claim_worker.py"),
                                 address, f"annotator-{k}", "run-1"], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True) for k in range(4)]
    answered = [int(q) for w in workers for q in w.communicate(timeout=120)[0].split()]
    assert all(w.returncode == 0 for w in workers)
    assert sorted(answered) == sorted(ids)                               # each exactly once
    with FeedbackStore(address) as store:
        assert store.pending_queries() == [] and store.leases() == []
        assert sorted(lab.query_id for lab in store.labels()) == sorted(ids)


def test_one_pair_belongs_to_one_run(backend):
    import pytest

    from feedback.errors import FeedbackError

    address = backend.address()
    store_with_queries(address, 1, run_id="run-1")
    with FeedbackStore(address) as store:
        [query] = store.pending_queries()
        assert store.add_queries([(query.left_id, query.right_id)], run_id="run-1") == [query.id]
        with pytest.raises(FeedbackError, match="asked by run 'run-1'"):
            store.add_queries([(query.left_id, query.right_id)], run_id="run-2")


def test_runs_sharing_a_store_draw_their_own_segment_ids():
    from agents.config import RunConfig
    from agents.loop import segment_id_stream

    own = RunConfig(env_id="Reacher-v0", out=Path("runs/a"))
    assert segment_id_stream(own) == [0, 1]                       # as before: reproducible
    a, b = (RunConfig(env_id="Reacher-v0", store="team.db", out=Path(f"runs/{name}"))
            for name in ("a", "b"))
    assert segment_id_stream(a) != segment_id_stream(b)
