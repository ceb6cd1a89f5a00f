"""The feedback store's schema and its versions: what each version adds to the last.

A store's version is kept with it: SQLite in ``PRAGMA user_version`` (with ``PRAGMA
application_id`` marking the file as ours), PostgreSQL in the ``meta`` table (rows
``application`` and ``schema_version``). Opening a store applies the steps it lacks, in
one transaction (:func:`settle`, called by :mod:`.sqlite` and :mod:`.postgres`): step 1
creates version 1, step ``v`` takes a store from ``v - 1`` to ``v``. A new store runs
every step, so both backends walk the same history and a version means the same tables
on both.

Versions:

1. segments, annotators, queries (pairs of segments) and labels (answers to them);
2. adds ``ratings`` (1-5 per segment, NULL when the person skipped) and ``demonstrations``
   (segments a person acted out, by whom);
3. annotator kinds are ``synthetic`` and ``human`` (``teacher`` was the old name of
   ``synthetic``; old rows are renamed);
4. queries carry the ``run_id`` of the training run that asked them ('' for older ones
   and for sessions of their own), and ``leases`` record which annotator a pending query
   is handed out to, until when (:mod:`feedback.store.work`);
5. labels and ratings carry ``flagged`` (the person marked the pair or clip broken or
   unjudgeable: left out of fitting, counted in reports) and a free-text ``note`` (''
   for none, and for every older row).

The two dialects' scripts are parallel, step for step. PostgreSQL's differ where the
databases do: ``BYTEA`` for ``BLOB``, ``DOUBLE PRECISION`` for ``REAL``, ``BIGINT``
(SQLite's integers are 64-bit), identity columns for ``INTEGER PRIMARY KEY``, and an
explicit ``rowid`` (insertion order) in the tables SQLite orders by its implicit one.
A new version adds a step to both.
"""

from __future__ import annotations

import time

from feedback.errors import StoreError
from feedback.store.backend import Backend, DatabaseError

SCHEMA_VERSION = 5

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
    4: """
ALTER TABLE queries ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
CREATE INDEX queries_by_run ON queries (run_id);
CREATE TABLE leases (
    query_id INTEGER PRIMARY KEY REFERENCES queries(id),
    annotator_id INTEGER NOT NULL REFERENCES annotators(id), expires REAL NOT NULL);
""",
    5: """
ALTER TABLE labels ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1));
ALTER TABLE labels ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE ratings ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1));
ALTER TABLE ratings ADD COLUMN note TEXT NOT NULL DEFAULT '';
""",
}

# The same history in PostgreSQL's dialect, step for step.
POSTGRES_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE segments (
    id TEXT PRIMARY KEY, env_id TEXT NOT NULL, source TEXT NOT NULL, episode BIGINT NOT NULL,
    start BIGINT NOT NULL, length BIGINT NOT NULL, arrays BYTEA NOT NULL,
    checksum TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE);
CREATE TABLE annotators (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CONSTRAINT annotators_kind_check CHECK (kind IN ('teacher', 'human')),
    created DOUBLE PRECISION NOT NULL);
CREATE TABLE queries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    left_id TEXT NOT NULL REFERENCES segments(id),
    right_id TEXT NOT NULL REFERENCES segments(id), strategy TEXT NOT NULL,
    iteration BIGINT NOT NULL, created DOUBLE PRECISION NOT NULL, UNIQUE (left_id, right_id));
CREATE TABLE labels (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    query_id BIGINT NOT NULL REFERENCES queries(id),
    answer TEXT NOT NULL CHECK (answer IN ('left', 'right', 'equal', 'skip')),
    annotator_id BIGINT NOT NULL REFERENCES annotators(id), seconds DOUBLE PRECISION NOT NULL,
    created DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL DEFAULT 'compare');
CREATE INDEX labels_by_query ON labels (query_id);
"""

POSTGRES_MIGRATIONS = {
    2: """
CREATE TABLE ratings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    segment_id TEXT NOT NULL REFERENCES segments(id),
    rating BIGINT CHECK (rating BETWEEN 1 AND 5),
    annotator_id BIGINT NOT NULL REFERENCES annotators(id), seconds DOUBLE PRECISION NOT NULL,
    created DOUBLE PRECISION NOT NULL);
CREATE INDEX ratings_by_segment ON ratings (segment_id);
CREATE TABLE demonstrations (
    segment_id TEXT PRIMARY KEY REFERENCES segments(id),
    annotator_id BIGINT NOT NULL REFERENCES annotators(id), created DOUBLE PRECISION NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE);
""",
    # PostgreSQL changes a CHECK constraint in place.
    3: """
ALTER TABLE annotators DROP CONSTRAINT annotators_kind_check;
UPDATE annotators SET kind = 'synthetic' WHERE kind = 'teacher';
ALTER TABLE annotators ADD CONSTRAINT annotators_kind_check
    CHECK (kind IN ('synthetic', 'human'));
""",
    4: """
ALTER TABLE queries ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
CREATE INDEX queries_by_run ON queries (run_id);
CREATE TABLE leases (
    query_id BIGINT PRIMARY KEY REFERENCES queries(id),
    annotator_id BIGINT NOT NULL REFERENCES annotators(id),
    expires DOUBLE PRECISION NOT NULL);
""",
    5: """
ALTER TABLE labels ADD COLUMN flagged BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE labels ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE ratings ADD COLUMN flagged BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE ratings ADD COLUMN note TEXT NOT NULL DEFAULT '';
""",
}

SQLITE_STEPS = {1: SCHEMA_V1, **MIGRATIONS}
POSTGRES_STEPS = {1: POSTGRES_V1, **POSTGRES_MIGRATIONS}


def statements(script: str) -> list[str]:
    """The SQL statements of ``script``, one by one."""
    return [s for s in script.split(";") if s.strip()]


def settle(db: Backend, steps: dict[int, str], what: str, *, tables: bool, ours: bool,
           version: int) -> int | None:
    """Check a store and apply the steps it lacks, inside the caller's transaction.

    Refuses (:class:`StoreError`, one line) a database that is not ours, is newer than
    this code or is ours without a version; creates a new store; upgrades an older one,
    recording when in ``meta``. Returns the version the caller must now mark the store
    with, or None when it is current already.

    :param db: the store's backend, in a transaction that holds the store to itself
    :param steps: the dialect's scripts (:data:`SQLITE_STEPS` or :data:`POSTGRES_STEPS`)
    :param what: what the address holds, for messages ("an SQLite file", ...)
    :param tables: whether the database holds any table already
    :param ours: whether it is marked as an rlhf-envs feedback store
    :param version: its schema version (0 when it has none)
    """
    where = db.address
    if tables and not ours:
        raise StoreError(f"{where} is {what} but not an rlhf-envs feedback store")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{where} has schema version {version}, newer than this rlhf-envs "
                         f"reads ({SCHEMA_VERSION}); upgrade rlhf-envs to use it")
    if tables and version < 1:
        raise StoreError(f"{where} is marked as a feedback store but has no schema "
                         "version; restore it from a backup")
    if version == SCHEMA_VERSION:
        return None
    for target in range(version + 1, SCHEMA_VERSION + 1):
        try:
            for statement in statements(steps[target]):
                db.run(statement)
        except DatabaseError as err:
            doing = "create" if target == 1 else f"upgrade to schema version {target}"
            raise StoreError(f"{where}: cannot {doing}, nothing changed ({err.detail})") from None
        stamp = str(time.time())
        if target == 1:
            db.run("INSERT INTO meta (key, value) VALUES ('created', ?)", (stamp,))
        elif tables:
            db.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                   "DO UPDATE SET value = excluded.value", (f"upgraded_to_{target}", stamp))
    return SCHEMA_VERSION
