"""What a feedback store needs of its database, and which database an address names.

:class:`~feedback.store.FeedbackStore` runs its SQL through a :class:`Backend`. Its
statements are written once, with ``?`` placeholders and in SQL that SQLite and
PostgreSQL both speak (``INSERT ... ON CONFLICT DO NOTHING``; ``rowid``, SQLite's
implicit insertion order, is a column of PostgreSQL's tables that are read in that
order); a backend adapts the placeholders, reports the id of a new row and turns
its driver's errors into one-line :class:`StoreError` messages. :mod:`.sqlite` and
:mod:`.postgres` are the two backends; :func:`open_backend` picks one from the address.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from feedback.errors import StoreError

T = TypeVar("T")

# Addresses of PostgreSQL stores: libpq's URIs and its service names (pg_service.conf).
POSTGRES_PREFIXES = ("postgresql://", "postgres://", "service=")


class DatabaseError(StoreError):
    """A statement the database refused; ``detail`` is the database's own one-line reason."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.detail = detail


class ConstraintError(DatabaseError):
    """A statement broke a constraint (a missing segment or query, say); nothing was kept."""


class Backend(ABC):
    """One open store's database connection, used under the store's lock.

    ``address`` names the store for people (any password masked); ``path`` is the
    store's file, for backends that keep one.
    """

    address: str
    path: Path | None = None

    @abstractmethod
    def transaction(self, work: Callable[[Backend], T]) -> T:
        """Run ``work(self)`` in one transaction, committed (durably) before this returns."""

    @abstractmethod
    def rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """The rows a query returns, as tuples."""

    @abstractmethod
    def run(self, sql: str, params: Sequence = ()) -> None:
        """Run a statement that returns no rows."""

    @abstractmethod
    def run_many(self, sql: str, params: Iterable[Sequence]) -> None:
        """Run one statement once per parameter row."""

    @abstractmethod
    def insert(self, sql: str, params: Sequence = ()) -> int:
        """Run an ``INSERT`` of one row into a table with an ``id`` key; the new row's id."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection (everything recorded is committed already)."""

    def now(self) -> float:
        """The time as the database sees it (Unix seconds): leases run on one clock."""
        return time.time()

    def one(self, sql: str, params: Sequence = ()) -> tuple | None:
        """The first row a query returns, or None."""
        found = self.rows(sql, params)
        return found[0] if found else None


def is_postgres_address(address: str | os.PathLike) -> bool:
    """Whether ``address`` names a PostgreSQL store (a URI or a service), not a file."""
    return isinstance(address, str) and address.startswith(POSTGRES_PREFIXES)


def open_backend(address: str | os.PathLike) -> Backend:
    """Open the store at ``address``: a PostgreSQL URI or ``service=NAME``, else a file path."""
    if not isinstance(address, (str, os.PathLike)) or not os.fspath(address):
        raise StoreError(f"a feedback store's address is a file path, a postgresql:// URI or "
                         f"service=NAME, not {address!r}")
    if is_postgres_address(address):
        from feedback.store.postgres import PostgresBackend

        return PostgresBackend(address)
    from feedback.store.sqlite import SQLiteBackend

    return SQLiteBackend(address)
