"""Opening a feedback store's SQLite file safely: check, create or upgrade, then WAL.

The file is marked as ours (``PRAGMA application_id``) and versioned (``PRAGMA
user_version``, see :mod:`feedback.store.schema`). Opening checks, before anything is
written, that the file is an SQLite file of ours, not newer than this code and not
damaged, then upgrades an older schema in one transaction (all or nothing), so stores
written by earlier releases keep working and keep their data. The check and the creation
or upgrade run under SQLite's write lock, so processes opening one new or old store at
once wait for each other.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from feedback.errors import StoreError
from feedback.store.schema import MIGRATIONS, SCHEMA_V1, SCHEMA_VERSION, statements

APPLICATION_ID = 0x524C4846  # "RLHF"
SQLITE_HEADER = b"SQLite format 3\x00"


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating or upgrading) the store at ``path``; :class:`StoreError` if unusable."""
    where = f"{path}"
    if path.is_dir():
        raise StoreError(f"{where} is a directory, not a feedback store file")
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as f:
            if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise StoreError(f"{where} is not a feedback store (not an SQLite file)")
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as err:
        raise StoreError(f"cannot open feedback store {where}: {err}") from None
    db.row_factory = sqlite3.Row
    try:
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            detail = " ".join(check.replace("*** in database main ***", "").split())
            raise StoreError(f"{where} is damaged ({detail}); restore it from a backup")
        # One opener at a time checks, creates or upgrades (others wait for the write
        # lock), so several processes opening one new or old store see it settled.
        db.execute("BEGIN IMMEDIATE")
        try:
            _check_create_or_upgrade(db, where)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        _retry_while_locked(db, "PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as err:
        db.close()
        if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
            raise StoreError(f"{where} is locked by another process; try again when it "
                             "is done") from None
        raise StoreError(f"{where} is damaged or not a feedback store ({err})") from None
    except StoreError:
        db.close()
        raise
    return db


def _check_create_or_upgrade(db: sqlite3.Connection, where: str) -> None:
    """Check, create or upgrade the store, inside the caller's write transaction.

    Refuses a file that is not ours or is newer, creates a new store, or applies the
    migrations an older one lacks (all or nothing).
    """
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if tables and app_id != APPLICATION_ID:
        raise StoreError(f"{where} is an SQLite file but not an rlhf-envs feedback store")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where} has schema version {version}, newer than this rlhf-envs "
            f"reads ({SCHEMA_VERSION}); upgrade rlhf-envs to use it"
        )
    if tables and version < 1:
        raise StoreError(f"{where} is marked as a feedback store but has no schema "
                         "version; restore it from a backup")
    if not tables:  # new: version 1, then every migration
        # (executescript() would commit on its own: the statements run one by one.)
        for statement in statements(SCHEMA_V1):
            db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('created', ?)", (str(time.time()),))
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        version = 1
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in statements(MIGRATIONS[target]):
            db.execute(statement)
        if tables:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                       (f"upgraded_to_{target}", str(time.time())))
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _retry_while_locked(db: sqlite3.Connection, statement: str, seconds: float = 5.0) -> None:
    """Run ``statement``, trying again while another opener holds the lock it needs.

    Switching an old store's journal to WAL needs the file to itself, and SQLite reports
    "locked" at once rather than waiting (its busy timeout does not apply to this
    wait), e.g. while another process runs its opening checks.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            db.execute(statement)
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
