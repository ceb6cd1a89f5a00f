"""A feedback store in one SQLite file: opened safely, checked, created or upgraded, WAL.

The file is marked as ours (``PRAGMA application_id``) and versioned (``PRAGMA
user_version``, see :mod:`feedback.store.schema`). Opening checks, before anything is
written, that the file is an SQLite file of ours, not newer than this code and not
damaged, then upgrades an older schema in one transaction (all or nothing), so stores
written by earlier releases keep working and keep their data. The check and the creation
or upgrade run under SQLite's write lock, so processes opening one new or old store at
once wait for each other. Every transaction is committed with ``synchronous=FULL``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from feedback.errors import StoreError
from feedback.store.backend import Backend, ConstraintError, DatabaseError
from feedback.store.schema import SCHEMA_VERSION, SQLITE_STEPS, settle

T = TypeVar("T")

APPLICATION_ID = 0x524C4846  # "RLHF"
SQLITE_HEADER = b"SQLite format 3\x00"


class SQLiteBackend(Backend):
    """The store in the SQLite file at ``path`` (created if missing).

    :param path: the file
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.address = where = str(self.path)
        _check_file(self.path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open feedback store {where}: {err}") from None
        try:
            check = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                detail = " ".join(check.replace("*** in database main ***", "").split())
                raise StoreError(f"{where} is damaged ({detail}); restore it from a backup")
            # One opener at a time checks, creates or upgrades (others wait for the write
            # lock), so several processes opening one new or old store see it settled.
            self.transaction(self._check_create_or_upgrade)
            _retry_while_locked(self._db, "PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as err:
            self._db.close()
            if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
                raise StoreError(f"{where} is locked by another process; try again when it "
                                 "is done") from None
            raise StoreError(f"{where} is damaged or not a feedback store ({err})") from None
        except StoreError:
            self._db.close()
            raise

    def transaction(self, work: Callable[[Backend], T]) -> T:
        """Run ``work(self)`` under the write lock (``BEGIN IMMEDIATE``), then commit."""
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work(self)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return result

    def rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """The rows a query returns, as tuples."""
        with self._errors():
            return self._db.execute(sql, params).fetchall()

    def run(self, sql: str, params: Sequence = ()) -> None:
        """Run a statement that returns no rows."""
        with self._errors():
            self._db.execute(sql, params)

    def run_many(self, sql: str, params: Iterable[Sequence]) -> None:
        """Run one statement once per parameter row."""
        with self._errors():
            self._db.executemany(sql, params)

    def insert(self, sql: str, params: Sequence = ()) -> int:
        """Run an ``INSERT`` of one row; the new row's id (its rowid)."""
        with self._errors():
            return self._db.execute(sql, params).lastrowid

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as one-line :class:`StoreError` messages naming the file."""
        try:
            yield
        except sqlite3.IntegrityError as err:
            raise ConstraintError(self.address, str(err)) from None
        except sqlite3.OperationalError as err:
            if "locked" in str(err):
                raise StoreError(f"{self.address} is locked by another process; try again "
                                 "when it is done") from None
            raise DatabaseError(self.address, str(err)) from None
        except sqlite3.DatabaseError as err:
            raise DatabaseError(self.address, str(err)) from None

    def _check_create_or_upgrade(self, db: Backend) -> None:
        """Check, create or upgrade the store, inside the opening's write transaction.

        Refuses a file that is not ours or is newer, creates a new store, or applies the
        migrations an older one lacks (all or nothing).
        """
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
        marked = settle(db, SQLITE_STEPS, "an SQLite file", tables=tables,
                        ours=app_id == APPLICATION_ID, version=version)
        if marked is not None:
            self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _check_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a directory or a file that is not an SQLite file."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a feedback store file")
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as f:
            if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise StoreError(f"{path} is not a feedback store (not an SQLite file)")


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
