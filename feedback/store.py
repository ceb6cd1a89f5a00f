"""FeedbackStore: segments, queries, labels and annotators in one SQLite file.

Production data rules: every label is committed (WAL, ``synchronous=FULL``) before the
call that records it returns, so a crash or SIGKILL loses nothing acknowledged. Opening,
the versioned schema and its migrations are in :mod:`feedback.store_schema`. Segment
arrays are stored as safetensors bytes with a sha256 checksum, never pickled.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import safetensors.numpy

from feedback.errors import FeedbackError, StoreError
from feedback.label_io import read_label_lines
from feedback.segments import Segment
from feedback.store_schema import open_database
from feedback.teachers import ANSWERS

MAX_NAME_LENGTH = 64


@dataclass(frozen=True)
class Query:
    """A pair of stored segments to compare."""

    id: int
    left_id: str
    right_id: str
    strategy: str
    iteration: int


@dataclass(frozen=True)
class Label:
    """One answer to a query, by a teacher or a person."""

    id: int
    query_id: int
    left_id: str
    right_id: str
    answer: str
    annotator: str
    annotator_kind: str
    seconds: float
    created: float
    kind: str


@dataclass(frozen=True)
class Rating:
    """A person's 1-5 rating of one clip (``rating`` None: skipped)."""

    id: int
    segment_id: str
    rating: int | None
    annotator: str
    annotator_kind: str
    seconds: float
    created: float


@dataclass(frozen=True)
class Demonstration:
    """A segment a person acted out themselves (the env's keys, in ``--mode demo``)."""

    segment_id: str
    annotator: str
    created: float


def check_seconds(seconds: float) -> float:
    """How long a person took: a finite number of seconds, at least 0."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        value = float("nan")
    if not (math.isfinite(value) and value >= 0):
        raise FeedbackError(f"seconds must be a finite number of at least 0, not {seconds!r}")
    return value


def check_annotator_name(name: str) -> str:
    """Annotator names are 1-64 printable characters (they end up in reports and logs)."""
    if not isinstance(name, str) or not name.strip():
        raise FeedbackError("annotator name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise FeedbackError(f"annotator name is longer than {MAX_NAME_LENGTH} characters")
    if not name.isprintable():
        raise FeedbackError(f"annotator name {name!r} contains control characters")
    return name


def encode_segment(segment: Segment) -> bytes:
    """Segment arrays as safetensors bytes (no pickle)."""
    arrays = {
        "obs": segment.obs, "acts": segment.acts, "next_obs": segment.next_obs,
        "true_rewards": segment.true_rewards,
    }
    arrays |= {f"reward_terms.{k}": v for k, v in segment.reward_terms.items()}
    if segment.render_states is not None:
        arrays["render_states"] = segment.render_states
    return safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in arrays.items()})


def decode_segment(row: sqlite3.Row) -> Segment:
    arrays = safetensors.numpy.load(row["arrays"])
    terms = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("reward_terms.")}
    return Segment(
        obs=arrays["obs"], acts=arrays["acts"], next_obs=arrays["next_obs"],
        true_rewards=arrays["true_rewards"], reward_terms=terms,
        render_states=arrays.get("render_states"), env_id=row["env_id"],
        source=row["source"], episode=row["episode"], start=row["start"], id=row["id"],
    )


class FeedbackStore:
    """One SQLite file holding a run's feedback; safe to share between threads."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db = open_database(self.path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _transaction(self, work):
        """Run ``work(db)`` in one committed transaction (all or nothing)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

    def _query(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ segments
    def add_segments(self, segments: Iterable[Segment]) -> None:
        """Store segments (already stored ids are left as they are)."""
        now = time.time()
        rows = []
        for s in segments:
            blob = encode_segment(s)
            rows.append((s.id, s.env_id, s.source, s.episode, s.start, len(s), blob,
                         hashlib.sha256(blob).hexdigest(), now))
        self._transaction(lambda db: db.executemany(
            "INSERT OR IGNORE INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows))

    def get_segments(self, ids: Sequence[str]) -> list[Segment]:
        """Segments by id, in the order asked; checksums are verified."""
        found = {}
        for begin in range(0, len(ids), 500):
            chunk = list(ids[begin : begin + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._query(f"SELECT * FROM segments WHERE id IN ({marks})", chunk):
                if hashlib.sha256(row["arrays"]).hexdigest() != row["checksum"]:
                    raise StoreError(f"{self.path}: segment {row['id']} is damaged (checksum)")
                found[row["id"]] = decode_segment(row)
        missing = [i for i in ids if i not in found]
        if missing:
            raise StoreError(f"{self.path}: no segment {missing[0]} in the store")
        return [found[i] for i in ids]

    def segment_ids(self) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM segments ORDER BY rowid")]

    def segment_lengths(self) -> dict[str, int]:
        """Steps of every stored segment, by id."""
        return dict(self._query("SELECT id, length FROM segments"))

    def segment_sources(self) -> dict[str, str]:
        """Where every stored segment came from ("random", "policy", "demo", ...), by id,
        oldest first."""
        return dict(self._query("SELECT id, source FROM segments ORDER BY rowid"))

    def env_ids(self) -> set[str]:
        return {r[0] for r in self._query("SELECT DISTINCT env_id FROM segments")}

    # ------------------------------------------------------------------ queries
    def add_queries(
        self, pairs: Iterable[tuple[str, str]], strategy: str = "uniform", iteration: int = 0
    ) -> list[int]:
        """Record pairs of segment ids to ask about; a pair already asked keeps its id."""
        def work(db: sqlite3.Connection) -> list[int]:
            ids = []
            for left, right in pairs:
                db.execute(
                    "INSERT OR IGNORE INTO queries (left_id, right_id, strategy, iteration, "
                    "created) VALUES (?, ?, ?, ?, ?)", (left, right, strategy, iteration,
                                                        time.time()))
                ids.append(db.execute("SELECT id FROM queries WHERE left_id=? AND right_id=?",
                                      (left, right)).fetchone()[0])
            return ids

        try:
            return self._transaction(work)
        except sqlite3.IntegrityError:
            raise FeedbackError("a query names a segment that is not in the store") from None

    def asked_pairs(self) -> set[frozenset[str]]:
        """Every pair already queried, in either order."""
        return {frozenset(r) for r in self._query("SELECT left_id, right_id FROM queries")}

    def pending_queries(self) -> list[Query]:
        """Queries with no label yet, oldest first."""
        rows = self._query(
            "SELECT q.* FROM queries q WHERE NOT EXISTS "
            "(SELECT 1 FROM labels l WHERE l.query_id = q.id) ORDER BY q.id")
        return [Query(r["id"], r["left_id"], r["right_id"], r["strategy"], r["iteration"])
                for r in rows]

    # ------------------------------------------------------------------ annotators and labels
    def _annotator(self, db: sqlite3.Connection, name: str, kind: str) -> int:
        check_annotator_name(name)
        if kind not in ("teacher", "human"):
            raise FeedbackError(f"annotator kind must be 'teacher' or 'human', not {kind!r}")
        db.execute("INSERT OR IGNORE INTO annotators (name, kind, created) VALUES (?, ?, ?)",
                   (name, kind, time.time()))
        return db.execute("SELECT id FROM annotators WHERE name=?", (name,)).fetchone()[0]

    def add_label(self, query_id: int, answer: str, annotator: str, *,
                  annotator_kind: str = "teacher", seconds: float = 0.0,
                  kind: str = "compare") -> int:
        """Record one answer; it is on disk when this returns. Returns the label id."""
        return self.add_labels([(query_id, answer)], annotator, annotator_kind=annotator_kind,
                               seconds=seconds, kind=kind)[0]

    def add_labels(self, answers: Iterable[tuple[int, str]], annotator: str, *,
                   annotator_kind: str = "teacher", seconds: float = 0.0,
                   kind: str = "compare", created: float | None = None) -> list[int]:
        """Record ``(query_id, answer)`` pairs in one transaction; returns label ids."""
        answers = list(answers)
        seconds = check_seconds(seconds)
        for _, answer in answers:
            if answer not in ANSWERS:
                raise FeedbackError(f"unknown answer {answer!r}; use one of {', '.join(ANSWERS)}")

        def work(db: sqlite3.Connection) -> list[int]:
            who = self._annotator(db, annotator, annotator_kind)
            stamp = time.time() if created is None else created
            return [db.execute(
                "INSERT INTO labels (query_id, answer, annotator_id, seconds, created, kind) "
                "VALUES (?, ?, ?, ?, ?, ?)", (q, a, who, seconds, stamp, kind)).lastrowid
                for q, a in answers]

        try:
            return self._transaction(work)
        except sqlite3.IntegrityError:
            raise FeedbackError("a label names a query that is not in the store") from None

    def delete_label(self, label_id: int) -> None:
        """Take an answer back (a person's undo); its query becomes pending again."""
        self._transaction(lambda db: db.execute("DELETE FROM labels WHERE id=?", (label_id,)))

    def labels(self) -> list[Label]:
        rows = self._query(
            "SELECT l.id, l.query_id, q.left_id, q.right_id, l.answer, a.name, a.kind, "
            "l.seconds, l.created, l.kind FROM labels l JOIN queries q ON q.id = l.query_id "
            "JOIN annotators a ON a.id = l.annotator_id ORDER BY l.id")
        return [Label(*row) for row in rows]

    def label_count(self) -> int:
        return self._query("SELECT count(*) FROM labels")[0][0]

    # ------------------------------------------------------------------ ratings
    def add_rating(self, segment_id: str, rating: int | None, annotator: str, *,
                   annotator_kind: str = "human", seconds: float = 0.0) -> int:
        """Record a 1-5 rating of a stored clip (None: skipped); on disk when this returns."""
        if rating is not None:
            try:
                rating = None if isinstance(rating, bool) else operator.index(rating)
            except TypeError:
                rating = None
            if rating not in range(1, 6):
                raise FeedbackError("a rating is 1, 2, 3, 4 or 5 (or None to skip)")
        seconds = check_seconds(seconds)

        def work(db: sqlite3.Connection) -> int:
            if db.execute("SELECT 1 FROM segments WHERE id=?", (segment_id,)).fetchone() is None:
                raise FeedbackError(f"no segment {segment_id} in the store to rate")
            who = self._annotator(db, annotator, annotator_kind)
            return db.execute(
                "INSERT INTO ratings (segment_id, rating, annotator_id, seconds, created) "
                "VALUES (?, ?, ?, ?, ?)", (segment_id, rating, who, seconds, time.time())
            ).lastrowid

        return self._transaction(work)

    def delete_rating(self, rating_id: int) -> None:
        """Take a rating back (a person's undo)."""
        self._transaction(lambda db: db.execute("DELETE FROM ratings WHERE id=?", (rating_id,)))

    def ratings(self) -> list[Rating]:
        rows = self._query(
            "SELECT r.id, r.segment_id, r.rating, a.name, a.kind, r.seconds, r.created "
            "FROM ratings r JOIN annotators a ON a.id = r.annotator_id ORDER BY r.id")
        return [Rating(*row) for row in rows]

    # ------------------------------------------------------------------ demonstrations
    def add_demonstration(self, segment: Segment, annotator: str) -> None:
        """Store a segment a person acted out, and who did; on disk when this returns."""
        blob = encode_segment(segment)

        def work(db: sqlite3.Connection) -> None:
            if db.execute("SELECT 1 FROM segments WHERE id=?", (segment.id,)).fetchone():
                raise FeedbackError(f"segment {segment.id} is already in the store")
            who = self._annotator(db, annotator, "human")
            now = time.time()
            db.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (segment.id, segment.env_id, segment.source, segment.episode,
                        segment.start, len(segment), blob, hashlib.sha256(blob).hexdigest(), now))
            db.execute("INSERT INTO demonstrations VALUES (?, ?, ?)", (segment.id, who, now))

        self._transaction(work)

    def demonstrations(self) -> list[Demonstration]:
        rows = self._query(
            "SELECT d.segment_id, a.name, d.created FROM demonstrations d "
            "JOIN annotators a ON a.id = d.annotator_id ORDER BY d.rowid")
        return [Demonstration(*row) for row in rows]

    # ------------------------------------------------------------------ JSON Lines
    def export_labels(self, path: str | os.PathLike) -> int:
        """Write every label as one JSON object per line; returns the count."""
        labels = self.labels()
        tmp = Path(str(path) + ".tmp")
        with open(tmp, "w") as f:
            for lab in labels:
                f.write(json.dumps({
                    "left": lab.left_id, "right": lab.right_id, "answer": lab.answer,
                    "annotator": lab.annotator, "annotator_kind": lab.annotator_kind,
                    "seconds": lab.seconds, "created": lab.created, "kind": lab.kind,
                }) + "\n")
        os.replace(tmp, path)
        return len(labels)

    def import_labels(self, path: str | os.PathLike) -> int:
        """Add labels from a JSON Lines export; all or nothing. Returns how many were new.

        The segments they name must already be in this store. A label already present
        (same pair, annotator and time) is not added again.
        """
        records = read_label_lines(path)
        known = set(self.segment_ids())
        for line, rec in records:
            for side in ("left", "right"):
                if rec[side] not in known:
                    raise FeedbackError(
                        f"{path}:{line}: segment {rec[side]} is not in {self.path}")
        existing = {(lab.left_id, lab.right_id, lab.annotator, lab.created)
                    for lab in self.labels()}

        def work(db: sqlite3.Connection) -> int:
            added = 0
            for _, rec in records:
                if (rec["left"], rec["right"], rec["annotator"], rec["created"]) in existing:
                    continue
                who = self._annotator(db, rec["annotator"], rec["annotator_kind"])
                db.execute("INSERT OR IGNORE INTO queries (left_id, right_id, strategy, "
                           "iteration, created) VALUES (?, ?, 'imported', 0, ?)",
                           (rec["left"], rec["right"], rec["created"]))
                query = db.execute("SELECT id FROM queries WHERE left_id=? AND right_id=?",
                                   (rec["left"], rec["right"])).fetchone()[0]
                db.execute("INSERT INTO labels (query_id, answer, annotator_id, seconds, "
                           "created, kind) VALUES (?, ?, ?, ?, ?, ?)",
                           (query, rec["answer"], who, rec["seconds"], rec["created"],
                            rec["kind"]))
                added += 1
            return added

        return self._transaction(work)
