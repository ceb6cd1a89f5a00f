"""FeedbackStore: a run's feedback and what it is about, in SQLite or PostgreSQL.

It holds segments, queries, labels, ratings, demonstrations and annotators: in one
SQLite file (a path), or for a team in a PostgreSQL database (a ``postgresql://`` URI or
``service=NAME``). The address picks the backend (:mod:`feedback.store.backend`); the
SQL below is the same for both.

Production data rules: every label is committed (SQLite: WAL, ``synchronous=FULL``;
PostgreSQL: a synchronous commit) before the call that records it returns, so a crash or
SIGKILL loses nothing acknowledged. Opening a store safely is the backend's
(:mod:`.sqlite`, :mod:`.postgres`); the versioned schema and its migrations are in
:mod:`feedback.store.schema`. Segment arrays are stored as safetensors bytes with a
sha256 checksum, never pickled.
"""

from __future__ import annotations

import hashlib
import operator
import os
import threading
import time
from collections.abc import Iterable, Sequence

from feedback.answers import ANSWERS
from feedback.errors import FeedbackError, StoreError
from feedback.segments import Segment
from feedback.store.backend import Backend, ConstraintError, open_backend
from feedback.store.jsonl import read_label_lines, write_label_lines
from feedback.store.records import (
    HUMAN,
    SYNTHETIC,
    Demonstration,
    Label,
    Query,
    Rating,
    check_annotator_kind,
    check_annotator_name,
    check_note,
    check_seconds,
    decode_segment,
    encode_segment,
)
from feedback.store.work import OF_RUN, QUERY_COLUMNS, WorkQueue

SEGMENT_COLUMNS = "id, env_id, source, episode, start, length, arrays, checksum, created"


class FeedbackStore(WorkQueue):
    """A run's or a team's feedback, in SQLite or PostgreSQL; safe to share between threads.

    :param address: an SQLite file's path (created if missing), or a PostgreSQL
        database's ``postgresql://`` (or ``postgres://``) URI or ``service=NAME``; its
        credentials come from libpq (``~/.pgpass``, ``PG*`` variables, service files)
    """

    def __init__(self, address: str | os.PathLike) -> None:
        self._lock = threading.RLock()
        self._db = open_backend(address)
        self.address = self._db.address  # for people: any password masked
        self.path = self._db.path  # the SQLite file (None for PostgreSQL)

    def __repr__(self) -> str:
        return f"FeedbackStore({self.address!r})"

    def close(self) -> None:
        """Close the store's file or connection (everything recorded is committed already)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _transaction(self, work):
        """Run ``work(db)`` in one committed transaction (all or nothing)."""
        with self._lock:
            return self._db.transaction(work)

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock:
            return self._db.rows(sql, params)

    # ------------------------------------------------------------------ segments
    def add_segments(self, segments: Iterable[Segment]) -> None:
        """Store segments (already stored ids are left as they are)."""
        now = time.time()
        rows = []
        for s in segments:
            blob = encode_segment(s)
            rows.append((s.id, s.env_id, s.source, s.episode, s.start, len(s), blob,
                         hashlib.sha256(blob).hexdigest(), now))
        self._transaction(lambda db: db.run_many(
            f"INSERT INTO segments ({SEGMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", rows))

    def get_segments(self, ids: Sequence[str]) -> list[Segment]:
        """Segments by id, in the order asked; checksums are verified."""
        found = {}
        for begin in range(0, len(ids), 500):
            chunk = list(ids[begin : begin + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._query("SELECT id, env_id, source, episode, start, arrays, checksum "
                               f"FROM segments WHERE id IN ({marks})", chunk)
            for sid, env_id, source, episode, start, arrays, checksum in rows:
                if hashlib.sha256(arrays).hexdigest() != checksum:
                    raise StoreError(f"{self.address}: segment {sid} is damaged (checksum)")
                found[sid] = decode_segment(arrays, id=sid, env_id=env_id, source=source,
                                            episode=episode, start=start)
        missing = [i for i in ids if i not in found]
        if missing:
            raise StoreError(f"{self.address}: no segment {missing[0]} in the store")
        return [found[i] for i in ids]

    def segment_ids(self) -> list[str]:
        """Ids of every stored segment, oldest first."""
        return [r[0] for r in self._query("SELECT id FROM segments ORDER BY rowid")]

    def segment_lengths(self) -> dict[str, int]:
        """Steps of every stored segment, by id."""
        return dict(self._query("SELECT id, length FROM segments"))

    def segment_sources(self) -> dict[str, str]:
        """Where every stored segment came from, by id, oldest first.

        A source is "random", "policy", "demo", ...
        """
        return dict(self._query("SELECT id, source FROM segments ORDER BY rowid"))

    def segment_env_ids(self) -> dict[str, str]:
        """The env id of every stored segment, by id."""
        return dict(self._query("SELECT id, env_id FROM segments"))

    def env_ids(self) -> set[str]:
        """Every env id among the stored segments."""
        return {r[0] for r in self._query("SELECT DISTINCT env_id FROM segments")}

    # ------------------------------------------------------------------ queries
    def add_queries(
        self, pairs: Iterable[tuple[str, str]], strategy: str = "uniform", iteration: int = 0,
        run_id: str = "",
    ) -> list[int]:
        """Record pairs of segment ids to ask about; a pair already asked keeps its id.

        ``run_id`` names the training run that asks (people answer a run's queries).
        """
        def work(db: Backend) -> list[int]:
            ids = []
            for left, right in pairs:
                db.run("INSERT INTO queries (left_id, right_id, strategy, iteration, created, "
                       "run_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (left, right, strategy, iteration, time.time(), run_id))
                query_id, asker = db.one("SELECT id, run_id FROM queries WHERE left_id=? "
                                         "AND right_id=?", (left, right))
                if asker != run_id:
                    raise FeedbackError(f"the pair {left} / {right} was asked by run "
                                        f"{asker!r}, not {run_id!r}")
                ids.append(query_id)
            return ids

        try:
            return self._transaction(work)
        except ConstraintError:
            raise FeedbackError("a query names a segment that is not in the store") from None

    def asked_pairs(self, run_id: str | None = None) -> set[frozenset[str]]:
        """Every pair already queried (by run ``run_id``, if given), in either order."""
        return {frozenset(r) for r in self._query(
            f"SELECT q.left_id, q.right_id FROM queries q WHERE {OF_RUN}", (run_id, run_id))}

    def pending_queries(self, run_id: str | None = None) -> list[Query]:
        """Queries with no label yet (of run ``run_id``, if given), oldest first."""
        rows = self._query(
            f"SELECT {QUERY_COLUMNS} FROM queries q WHERE NOT EXISTS "
            f"(SELECT 1 FROM labels l WHERE l.query_id = q.id) AND {OF_RUN} ORDER BY q.id",
            (run_id, run_id))
        return [Query(*row) for row in rows]

    # ------------------------------------------------------------------ annotators and labels
    def _annotator(self, db: Backend, name: str, kind: str) -> int:
        check_annotator_name(name)
        check_annotator_kind(kind)
        db.run("INSERT INTO annotators (name, kind, created) VALUES (?, ?, ?) "
               "ON CONFLICT DO NOTHING", (name, kind, time.time()))
        return db.one("SELECT id FROM annotators WHERE name=?", (name,))[0]

    def add_label(self, query_id: int, answer: str, annotator: str, *,
                  annotator_kind: str = SYNTHETIC, seconds: float = 0.0,
                  kind: str = "compare", flagged: bool = False, note: str = "") -> int:
        """Record one answer; it is on disk when this returns. Returns the label id.

        ``flagged``: the annotator marked the pair broken or unjudgeable (the label is kept
        and counted, but left out of fitting); ``note``: one line of their text about it.
        """
        return self.add_labels([(query_id, answer)], annotator, annotator_kind=annotator_kind,
                               seconds=seconds, kind=kind, flagged=flagged, note=note)[0]

    def add_labels(self, answers: Iterable[tuple[int, str]], annotator: str, *,
                   annotator_kind: str = SYNTHETIC, seconds: float = 0.0,
                   kind: str = "compare", created: float | None = None,
                   flagged: bool = False, note: str = "") -> list[int]:
        """Record ``(query_id, answer)`` pairs in one transaction; returns label ids."""
        answers = list(answers)
        seconds, note, flagged = check_seconds(seconds), check_note(note), bool(flagged)
        for _, answer in answers:
            if answer not in ANSWERS:
                raise FeedbackError(f"unknown answer {answer!r}; use one of {', '.join(ANSWERS)}")

        def work(db: Backend) -> list[int]:
            who = self._annotator(db, annotator, annotator_kind)
            stamp = time.time() if created is None else created
            ids = [db.insert(
                "INSERT INTO labels (query_id, answer, annotator_id, seconds, created, kind, "
                "flagged, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (q, a, who, seconds, stamp, kind, flagged, note)) for q, a in answers]
            db.run_many("DELETE FROM leases WHERE query_id=?", [(q,) for q, _ in answers])
            return ids

        try:
            return self._transaction(work)
        except ConstraintError:
            raise FeedbackError("a label names a query that is not in the store") from None

    def delete_label(self, label_id: int) -> None:
        """Take an answer back (a person's undo); its query becomes pending again."""
        self._transaction(lambda db: db.run("DELETE FROM labels WHERE id=?", (label_id,)))

    def labels(self, run_id: str | None = None) -> list[Label]:
        """Every label (to run ``run_id``'s queries, if given), oldest first."""
        rows = self._query(
            "SELECT l.id, l.query_id, q.left_id, q.right_id, l.answer, a.name, a.kind, "
            "l.seconds, l.created, l.kind, l.flagged, l.note FROM labels l "
            "JOIN queries q ON q.id = l.query_id "
            f"JOIN annotators a ON a.id = l.annotator_id WHERE {OF_RUN} ORDER BY l.id",
            (run_id, run_id))
        return [Label(*row[:10], bool(row[10]), row[11]) for row in rows]

    def label_count(self) -> int:
        """How many labels the store holds."""
        return self._query("SELECT count(*) FROM labels")[0][0]

    # ------------------------------------------------------------------ ratings
    def add_rating(self, segment_id: str, rating: int | None, annotator: str, *,
                   annotator_kind: str = HUMAN, seconds: float = 0.0, flagged: bool = False,
                   note: str = "") -> int:
        """Record a 1-5 rating of a stored segment (None: skipped); on disk when this returns.

        ``flagged`` and ``note`` as for :meth:`add_label`.
        """
        if rating is not None:
            try:
                rating = None if isinstance(rating, bool) else operator.index(rating)
            except TypeError:
                rating = None
            if rating not in range(1, 6):
                raise FeedbackError("a rating is 1, 2, 3, 4 or 5 (or None to skip)")
        seconds, note, flagged = check_seconds(seconds), check_note(note), bool(flagged)

        def work(db: Backend) -> int:
            if db.one("SELECT 1 FROM segments WHERE id=?", (segment_id,)) is None:
                raise FeedbackError(f"no segment {segment_id} in the store to rate")
            who = self._annotator(db, annotator, annotator_kind)
            return db.insert(
                "INSERT INTO ratings (segment_id, rating, annotator_id, seconds, created, "
                "flagged, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (segment_id, rating, who, seconds, time.time(), flagged, note))

        return self._transaction(work)

    def delete_rating(self, rating_id: int) -> None:
        """Take a rating back (a person's undo)."""
        self._transaction(lambda db: db.run("DELETE FROM ratings WHERE id=?", (rating_id,)))

    def ratings(self) -> list[Rating]:
        """Every rating with its annotator, oldest first (skips included: ``rating`` None)."""
        rows = self._query(
            "SELECT r.id, r.segment_id, r.rating, a.name, a.kind, r.seconds, r.created, "
            "r.flagged, r.note FROM ratings r JOIN annotators a ON a.id = r.annotator_id "
            "ORDER BY r.id")
        return [Rating(*row[:7], bool(row[7]), row[8]) for row in rows]

    # ------------------------------------------------------------------ demonstrations
    def add_demonstration(self, segment: Segment, annotator: str) -> None:
        """Store a segment a person acted out, and who did; on disk when this returns."""
        blob = encode_segment(segment)

        def work(db: Backend) -> None:
            if db.one("SELECT 1 FROM segments WHERE id=?", (segment.id,)):
                raise FeedbackError(f"segment {segment.id} is already in the store")
            who = self._annotator(db, annotator, HUMAN)
            now = time.time()
            db.run(f"INSERT INTO segments ({SEGMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (segment.id, segment.env_id, segment.source, segment.episode,
                    segment.start, len(segment), blob, hashlib.sha256(blob).hexdigest(), now))
            db.run("INSERT INTO demonstrations (segment_id, annotator_id, created) "
                   "VALUES (?, ?, ?)", (segment.id, who, now))

        self._transaction(work)

    def demonstrations(self) -> list[Demonstration]:
        """Every demonstration and who acted it out, oldest first."""
        rows = self._query(
            "SELECT d.segment_id, a.name, d.created FROM demonstrations d "
            "JOIN annotators a ON a.id = d.annotator_id ORDER BY d.rowid")
        return [Demonstration(*row) for row in rows]

    # ------------------------------------------------------------------ JSON Lines
    def export_labels(self, path: str | os.PathLike) -> int:
        """Write every label as one JSON object per line (atomically); returns the count."""
        return write_label_lines(path, self.labels())

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
                        f"{path}:{line}: segment {rec[side]} is not in {self.address}")
        existing = {(lab.left_id, lab.right_id, lab.annotator, lab.created)
                    for lab in self.labels()}

        def work(db: Backend) -> int:
            added = 0
            for _, rec in records:
                key = (rec["left"], rec["right"], rec["annotator"], rec["created"])
                if key in existing:  # in the store already, or earlier in the file
                    continue
                existing.add(key)
                who = self._annotator(db, rec["annotator"], rec["annotator_kind"])
                db.run("INSERT INTO queries (left_id, right_id, strategy, iteration, created) "
                       "VALUES (?, ?, 'imported', 0, ?) ON CONFLICT DO NOTHING",
                       (rec["left"], rec["right"], rec["created"]))
                query = db.one("SELECT id FROM queries WHERE left_id=? AND right_id=?",
                               (rec["left"], rec["right"]))[0]
                db.run("INSERT INTO labels (query_id, answer, annotator_id, seconds, created, "
                       "kind, flagged, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (query, rec["answer"], who, rec["seconds"], rec["created"], rec["kind"],
                        rec["flagged"], rec["note"]))
                added += 1
            return added

        return self._transaction(work)
