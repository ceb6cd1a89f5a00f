"""The feedback store's schema and its versions: what each version adds to the last.

A store's version is kept with it (SQLite: ``PRAGMA user_version``); opening a store
applies the migrations it lacks, in one transaction (:mod:`feedback.store.sqlite`).

Versions:

1. segments, annotators, queries (pairs of segments) and labels (answers to them);
2. adds ``ratings`` (1-5 per segment, NULL when the person skipped) and ``demonstrations``
   (segments a person acted out, by whom);
3. annotator kinds are ``synthetic`` and ``human`` (``teacher`` was the old name of
   ``synthetic``; old rows are renamed).
"""

from __future__ import annotations

SCHEMA_VERSION = 3

SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE segments (
    id TEXT PRIMARY KEY, env_id TEXT NOT NULL, source TEXT NOT NULL, episode INTEGER NOT NULL,
    start INTEGER NOT NULL, length INTEGER NOT NULL, arrays BLOB NOT NULL,
    checksum TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE annotators (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('teacher', 'human')), created REAL NOT NULL);
CREATE TABLE queries (
    id INTEGER PRIMARY KEY, left_id TEXT NOT NULL REFERENCES segments(id),
    right_id TEXT NOT NULL REFERENCES segments(id), strategy TEXT NOT NULL,
    iteration INTEGER NOT NULL, created REAL NOT NULL, UNIQUE (left_id, right_id));
CREATE TABLE labels (
    id INTEGER PRIMARY KEY, query_id INTEGER NOT NULL REFERENCES queries(id),
    answer TEXT NOT NULL CHECK (answer IN ('left', 'right', 'equal', 'skip')),
    annotator_id INTEGER NOT NULL REFERENCES annotators(id), seconds REAL NOT NULL,
    created REAL NOT NULL, kind TEXT NOT NULL DEFAULT 'compare');
CREATE INDEX labels_by_query ON labels (query_id);
"""

# What each version adds to the one before: MIGRATIONS[v] takes a store from v - 1 to v.
MIGRATIONS = {
    2: """
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY, segment_id TEXT NOT NULL REFERENCES segments(id),
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    annotator_id INTEGER NOT NULL REFERENCES annotators(id), seconds REAL NOT NULL,
    created REAL NOT NULL);
CREATE INDEX ratings_by_segment ON ratings (segment_id);
CREATE TABLE demonstrations (
    segment_id TEXT PRIMARY KEY REFERENCES segments(id),
    annotator_id INTEGER NOT NULL REFERENCES annotators(id), created REAL NOT NULL);
""",
    # SQLite cannot change a CHECK constraint in place: the table is rebuilt (SQLite's
    # documented way, run while foreign keys are off), keeping every row and id.
    3: """
CREATE TABLE annotators_v3 (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('synthetic', 'human')), created REAL NOT NULL);
INSERT INTO annotators_v3 (id, name, kind, created)
    SELECT id, name, CASE kind WHEN 'teacher' THEN 'synthetic' ELSE kind END, created
    FROM annotators;
DROP TABLE annotators;
ALTER TABLE annotators_v3 RENAME TO annotators;
""",
}


def statements(script: str) -> list[str]:
    """The SQL statements of ``script``, one by one."""
    return [s for s in script.split(";") if s.strip()]
