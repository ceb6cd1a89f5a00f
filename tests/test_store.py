import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import one_line

from feedback.errors import FeedbackError, StoreError
from feedback.segments import cut_segments
from feedback.store import FeedbackStore, encode_segment
from feedback.store.schema import SCHEMA_VERSION


def make_segments(n=8, length=10):
    rng = np.random.default_rng(0)
    steps = n * length
    return cut_segments(
        rng.normal(size=(steps + 1, 5)), rng.normal(size=(steps, 2)), rng.normal(size=steps),
        reward_terms={"forward": rng.normal(size=steps)},
        render_states=rng.normal(size=(steps, 3)), length=length, env_id="Toy-v0",
        source="random")


def test_segments_queries_and_labels_round_trip(backend):
    segments = make_segments()
    path = backend.address()
    with FeedbackStore(path) as store:
        store.add_segments(segments)
        store.add_segments(segments[:2])  # storing again changes nothing
        queries = store.add_queries([(segments[0].id, segments[1].id),
                                     (segments[2].id, segments[3].id)], strategy="uniform")
        assert store.add_queries([(segments[0].id, segments[1].id)]) == queries[:1]
        store.add_label(queries[0], "right", "alice", annotator_kind="human", seconds=2.5)
        assert [q.id for q in store.pending_queries()] == [queries[1]]
    with FeedbackStore(path) as store:  # reopened: everything is there
        assert store.segment_ids() == [s.id for s in segments]
        back = store.get_segments([segments[3].id])[0]
        np.testing.assert_array_equal(back.obs, segments[3].obs)
        np.testing.assert_array_equal(back.render_states, segments[3].render_states)
        np.testing.assert_array_equal(back.reward_terms["forward"],
                                      segments[3].reward_terms["forward"])
        assert (back.env_id, back.source, back.start) == ("Toy-v0", "random", 30)
        [label] = store.labels()
        assert (label.answer, label.annotator, label.annotator_kind, label.seconds) == (
            "right", "alice", "human", 2.5)
        assert store.segment_lengths()[segments[3].id] == 10
        assert store.asked_pairs() == {
            frozenset((segments[0].id, segments[1].id)), frozenset((segments[2].id,
                                                                    segments[3].id))}


def test_labels_export_and_import_as_json_lines(backend, tmp_path):
    segments = make_segments()
    source, target = FeedbackStore(backend.address("a")), FeedbackStore(backend.address("b"))
    for store in (source, target):
        store.add_segments(segments)
    queries = source.add_queries([(segments[i].id, segments[i + 1].id) for i in range(4)])
    source.add_labels(zip(queries, ["left", "right", "equal", "skip"]), "oracle")
    assert source.export_labels(tmp_path / "labels.jsonl") == 4
    assert target.import_labels(tmp_path / "labels.jsonl") == 4
    assert target.import_labels(tmp_path / "labels.jsonl") == 0  # no duplicates
    strip = [(lab.left_id, lab.right_id, lab.answer, lab.annotator) for lab in target.labels()]
    assert strip == [(lab.left_id, lab.right_id, lab.answer, lab.annotator)
                     for lab in source.labels()]

    lines = (tmp_path / "labels.jsonl").read_text().splitlines()
    bad = json.loads(lines[1]) | {"answer": "maybe"}
    (tmp_path / "bad.jsonl").write_text(lines[0] + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(FeedbackError) as err:
        target.import_labels(tmp_path / "bad.jsonl")
    assert "bad.jsonl:2: unknown answer 'maybe'" in one_line(err)
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    with pytest.raises(FeedbackError) as err:
        target.import_labels(tmp_path / "bad.jsonl")
    assert "bad.jsonl:1: not valid JSON" in one_line(err)
    assert len(target.labels()) == 4  # nothing half-imported
    source.close()
    target.close()


def test_bad_labels_and_annotators(backend):
    segments = make_segments()
    store = FeedbackStore(backend.address())
    store.add_segments(segments)
    [query] = store.add_queries([(segments[0].id, segments[1].id)])
    with pytest.raises(FeedbackError) as err:
        store.add_label(query, "both", "oracle")
    assert "unknown answer 'both'" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        store.add_label(query, "left", "bob\x1b[31m")
    assert "control characters" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        store.add_label(query + 100, "left", "oracle")
    assert "not in the store" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        store.add_queries([(segments[0].id, "missing")])
    one_line(err)
    assert store.label_count() == 0
    store.close()


def test_newer_and_foreign_stores_are_refused_untouched(backend):
    newer = backend.address("newer")
    FeedbackStore(newer).close()
    with backend.connect(newer) as raw:
        backend.mark(raw, 99)
    before = backend.snapshot(newer)
    with pytest.raises(StoreError) as err:
        FeedbackStore(newer)
    assert "schema version 99" in one_line(err) and newer in one_line(err)
    assert backend.snapshot(newer) == before

    foreign = backend.address("other")
    with backend.connect(foreign) as raw:
        raw.execute("CREATE TABLE songs (title TEXT)")
    before = backend.snapshot(foreign)
    with pytest.raises(StoreError) as err:
        FeedbackStore(foreign)
    assert "not an rlhf-envs feedback store" in one_line(err)
    assert backend.snapshot(foreign) == before


def test_files_that_are_not_sqlite_are_refused_untouched(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, I am not a database\n")
    with pytest.raises(StoreError) as err:
        FeedbackStore(text)
    assert "not a feedback store" in one_line(err)
    assert text.read_text() == "hello, I am not a database\n"


def write_version_1_store(backend, address, segments):
    """A store as rlhf-envs wrote it before ratings and demonstrations (schema 1)."""
    with backend.connect(address) as raw:
        raw.script(backend.steps[1])
        backend.mark(raw, 1)
    with backend.connect(address) as raw:  # one labelled pair, written by hand as v1 would
        for s in segments[:2]:
            raw.execute("INSERT INTO segments (id, env_id, source, episode, start, length, "
                        "arrays, checksum, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
                        (s.id, s.env_id, s.source, s.episode, s.start, len(s),
                         encode_segment(s), hashlib.sha256(encode_segment(s)).hexdigest()))
        raw.execute("INSERT INTO annotators (name, kind, created) VALUES ('ana', 'human', 0)")
        raw.execute("INSERT INTO queries (left_id, right_id, strategy, iteration, created) "
                    "VALUES (?, ?, 'uniform', 0, 0)", (segments[0].id, segments[1].id))
        raw.execute("INSERT INTO labels (query_id, answer, annotator_id, seconds, created, "
                    "kind) VALUES (1, 'left', 1, 1.5, 0, 'compare')")


def test_version_1_stores_are_upgraded_in_place_keeping_their_labels(backend):
    segments = make_segments()
    path = backend.address("old")
    write_version_1_store(backend, path, segments)
    with FeedbackStore(path) as store:
        [label] = store.labels()
        assert (label.answer, label.annotator, label.left_id) == ("left", "ana", segments[0].id)
        store.add_rating(segments[0].id, 4, "ana")
        store.add_labels([(label.query_id, "right")], "bo")  # ids go on after the old rows
        assert store.labels(run_id="") == store.labels()  # older queries: of no run
        assert store.claim_query("cy") is None  # answered: nothing to hand out
    assert backend.version(path) == SCHEMA_VERSION == 5

    # An upgrade that fails part way changes nothing (one transaction).
    broken = backend.address("broken")
    write_version_1_store(backend, broken, segments)
    with backend.connect(broken) as raw:
        raw.execute("CREATE TABLE demonstrations (x INTEGER)")  # in the way of the upgrade
    with pytest.raises(StoreError) as err:
        FeedbackStore(broken)
    assert "upgrade to schema version 2" in one_line(err)
    assert "already exists" in one_line(err)
    assert backend.version(broken) == 1 and "ratings" not in backend.tables(broken)


def test_version_2_stores_call_teachers_synthetic_and_keep_every_row(backend):
    """Schema 3 renames the annotator kind 'teacher' to 'synthetic'."""
    segments = make_segments()
    path = backend.address("v2")
    write_version_1_store(backend, path, segments)
    with backend.connect(path) as raw:  # the store as rlhf-envs left it at schema 2
        raw.script(backend.steps[2])
        raw.execute("INSERT INTO annotators (name, kind, created) VALUES ('oracle', 'teacher', 0)")
        raw.execute("INSERT INTO labels (query_id, answer, annotator_id, seconds, created, "
                    "kind) VALUES (1, 'right', 2, 0, 0, 'compare')")
        raw.execute("INSERT INTO ratings (segment_id, rating, annotator_id, seconds, created) "
                    "VALUES (?, 5, 2, 0, 0)", (segments[0].id,))
        backend.mark(raw, 2)
    with FeedbackStore(path) as store:
        kinds = {(lab.annotator, lab.annotator_kind) for lab in store.labels()}
        assert kinds == {("ana", "human"), ("oracle", "synthetic")}
        assert [(r.annotator, r.annotator_kind) for r in store.ratings()] == [
            ("oracle", "synthetic")]
        store.add_labels([(1, "equal")], "bradley_terry")  # the new kind's name works
        with pytest.raises(FeedbackError, match="annotator kind must be"):
            store.add_labels([(1, "left")], "x", annotator_kind="teacher")
    assert backend.version(path) == SCHEMA_VERSION
    if backend.kind == "sqlite":  # the rebuilt table kept every reference
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_version_4_stores_gain_flags_and_notes_and_flags_round_trip(backend, tmp_path):
    """Schema 5: labels and ratings carry ``flagged`` and ``note``; old rows get neither."""
    segments = make_segments()
    path = backend.address("v4")
    write_version_1_store(backend, path, segments)
    with backend.connect(path) as raw:  # the store as rlhf-envs left it at schema 4
        for step in (2, 3, 4):
            raw.script(backend.steps[step])
        raw.execute("INSERT INTO ratings (segment_id, rating, annotator_id, seconds, created) "
                    "VALUES (?, 3, 1, 0, 0)", (segments[0].id,))
        backend.mark(raw, 4)
    with FeedbackStore(path) as store:
        [old] = store.labels()
        assert (old.answer, old.flagged, old.note) == ("left", False, "")
        assert [(r.rating, r.flagged, r.note) for r in store.ratings()] == [(3, False, "")]
        new = store.add_label(old.query_id, "skip", "ana", flagged=True,
                              note="clip B is black")
        store.add_rating(segments[1].id, None, "ana", flagged=True, note="frozen")
        assert [(lab.id, lab.flagged, lab.note) for lab in store.labels()][-1] == (
            new, True, "clip B is black")
        assert (store.ratings()[-1].flagged, store.ratings()[-1].note) == (True, "frozen")
        for bad in ("two\nlines", "x" * 501):
            with pytest.raises(FeedbackError, match="a note is"):
                store.add_label(old.query_id, "left", "ana", note=bad)
        store.export_labels(tmp_path / "labels.jsonl")
    assert backend.version(path) == SCHEMA_VERSION == 5
    other = backend.address("other")
    with FeedbackStore(other) as store:  # flags and notes travel with an export
        store.add_segments(segments[:2])
        assert store.import_labels(tmp_path / "labels.jsonl") == 2
        assert [(lab.flagged, lab.note) for lab in store.labels()] == [
            (False, ""), (True, "clip B is black")]


OPEN_AT = """
import sys, time
from feedback.store import FeedbackStore
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all open at the same moment
FeedbackStore(sys.argv[1]).close()
"""


@pytest.mark.parametrize("kind", ["new", "version 1"])
def test_processes_opening_one_store_at_once_all_succeed(kind, backend):
    for trial in range(3):
        path = backend.address(f"t{trial}")
        if kind == "version 1":
            write_version_1_store(backend, path, make_segments())
        start = time.time() + 1.0  # after every interpreter has started
        openers = [subprocess.Popen([sys.executable, "-c", OPEN_AT, path, str(start)],
                                    cwd=Path(__file__).parent.parent, stderr=subprocess.PIPE,
                                    text=True) for _ in range(4)]
        errors = [p.communicate()[1] for p in openers]
        assert all(p.returncode == 0 for p in openers), [e for e in errors if e][0][-300:]
        assert backend.version(path) == SCHEMA_VERSION


def test_ratings_and_demonstrations_are_stored_with_their_kind(backend):
    segments = make_segments()
    with FeedbackStore(backend.address()) as store:
        store.add_segments(segments[:3])
        first = store.add_rating(segments[0].id, 5, "ana", seconds=2.0)
        store.add_rating(segments[1].id, None, "ana")  # skipped
        store.add_rating(segments[1].id, 2, "bo")
        store.delete_rating(first)  # undo
        assert [(r.segment_id, r.rating, r.annotator) for r in store.ratings()] == [
            (segments[1].id, None, "ana"), (segments[1].id, 2, "bo")]
        for bad in (0, 6, 2.5, True, "3"):
            with pytest.raises(FeedbackError) as err:
                store.add_rating(segments[2].id, bad, "ana")
            assert "1, 2, 3, 4 or 5" in one_line(err)
        with pytest.raises(FeedbackError) as err:
            store.add_rating("no-such-clip", 3, "ana")
        assert "no segment no-such-clip" in one_line(err)
        for bad in (float("nan"), -1.0, "x"):
            with pytest.raises(FeedbackError) as err:
                store.add_rating(segments[2].id, 3, "ana", seconds=bad)
            assert "seconds must be a finite number" in one_line(err)
        store.add_rating(segments[2].id, np.int64(4), "ana")  # numpy integers are ratings
        assert store.ratings()[-1].rating == 4 and len(store.ratings()) == 3
        demo = segments[3]
        demo.source = "demo"
        store.add_demonstration(demo, "ana")
        with pytest.raises(FeedbackError) as err:
            store.add_demonstration(demo, "ana")
        assert "already in the store" in one_line(err)
        [shown] = store.demonstrations()
        assert (shown.segment_id, shown.annotator) == (demo.id, "ana")
        assert store.get_segments([demo.id])[0].source == "demo"
        assert store.label_count() == 0  # ratings and demonstrations are not labels


def test_damaged_store_is_reported(tmp_path):
    path = tmp_path / "f.db"
    with FeedbackStore(path) as store:
        store.add_segments(make_segments(n=40))
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page + 8 : 2 * page + 400] = b"\xff" * 392  # scribble over a b-tree page
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as err:
        FeedbackStore(path)
    assert "damaged" in one_line(err)


def test_sigkill_while_writing_loses_no_acknowledged_label(backend):
    segments = make_segments(n=60)
    path = backend.address()
    with FeedbackStore(path) as store:
        store.add_segments(segments)
        store.add_queries([(a.id, b.id) for a in segments for b in segments if a.id < b.id])
    writer = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("store_writer.py")), path],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    acknowledged = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        acknowledged.append(int(writer.stdout.readline()))
    writer.send_signal(signal.SIGKILL)
    remaining, _ = writer.communicate()
    acknowledged += [int(line) for line in remaining.split()]
    assert writer.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 150
    with FeedbackStore(path) as store:  # opens cleanly after the kill
        stored = {label.id for label in store.labels()}
        assert set(acknowledged) <= stored
        assert len(store.pending_queries()) == 60 * 59 // 2 - len(stored)


def test_an_import_with_bad_seconds_or_a_repeated_line_adds_nothing_wrong(backend, tmp_path):
    segments = make_segments()
    store = FeedbackStore(backend.address("labels"))
    store.add_segments(segments[:2])
    line = {"left": segments[0].id, "right": segments[1].id, "answer": "left",
            "annotator": "ana", "annotator_kind": "human", "seconds": 1.5, "created": 7.0,
            "kind": "compare"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**line, "seconds": -1}) + "\n")
    with pytest.raises(FeedbackError) as err:
        store.import_labels(bad)
    assert "bad.jsonl:1: seconds must be" in one_line(err) and not store.labels()
    twice = tmp_path / "twice.jsonl"
    twice.write_text((json.dumps(line) + "\n") * 2)
    assert store.import_labels(twice) == 1 and len(store.labels()) == 1
    old = tmp_path / "old.jsonl"  # an export of a store before schema 3
    old.write_text(json.dumps({**line, "annotator": "oracle", "annotator_kind": "teacher"}))
    assert store.import_labels(old) == 1
    assert {lab.annotator_kind for lab in store.labels()} == {"human", "synthetic"}
    store.close()
