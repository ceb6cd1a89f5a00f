"""A feedback store in a PostgreSQL database, shared by a team (psycopg 3, imported here only).

An address is a libpq URI (``postgresql://`` or ``postgres://``) or ``service=NAME`` (a
service of ``pg_service.conf``). Credentials come through libpq's own means:
``~/.pgpass`` or ``PGPASSFILE``, the ``PG*`` variables, service files. A password
written in the address reaches libpq but is never shown: :func:`mask_password` is what
messages and ``FeedbackStore.address`` show. The store's tables live in the database's
current schema (the first of its ``search_path``); the version and the mark that the
database is ours are rows of ``meta`` (see :mod:`feedback.store.schema`).

Opening checks, creates or upgrades the schema in one transaction that first takes a
transaction-level advisory lock, so processes opening one new or old store at once wait
for each other and all find it settled. Every transaction's commit waits for the
server's WAL flush (``synchronous_commit`` is turned on where the server has it off), so
a recorded answer is durable when the call returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote

from feedback.errors import StoreError
from feedback.store.backend import Backend, ConstraintError, DatabaseError
from feedback.store.schema import POSTGRES_STEPS, settle

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

APPLICATION = "rlhf-envs feedback store"  # meta's 'application' row: the database is ours
LOCK_KEY = 0x524C4846  # "RLHF": the advisory lock that one opener at a time holds
MASK = "****"

_URI = re.compile(r"(?P<scheme>postgres(?:ql)?://)(?P<authority>[^/?#]*)(?P<rest>.*)", re.S)
_URI_PASSWORD = re.compile(r"([?&]password=)([^&#]*)")
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)")


def mask_password(address: str) -> str:
    """``address`` with any password in it (URI user info, ``password=``) shown as ``****``."""
    uri = _URI.fullmatch(address)
    if uri is None:  # key=value words, e.g. service=team password=...
        return _KEYWORD_PASSWORD.sub(lambda m: m[1] + MASK, address)
    authority = uri["authority"]
    userinfo, at, hosts = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}:{MASK}@{hosts}"
    return uri["scheme"] + authority + _URI_PASSWORD.sub(lambda m: m[1] + MASK, uri["rest"])


def _passwords(address: str) -> set[str]:
    """Every password written in ``address``, as written and as libpq reads it."""
    found = set()
    uri = _URI.fullmatch(address)
    if uri is not None:
        userinfo, at, _ = uri["authority"].rpartition("@")
        if at and ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
        found.update(m[2] for m in _URI_PASSWORD.finditer(uri["rest"]))
        found |= {unquote(p) for p in found}
    else:
        for m in _KEYWORD_PASSWORD.finditer(address):
            found.add(m[2])
            if m[2].startswith("'"):
                found.add(re.sub(r"\\(.)", r"\1", m[2].strip("'")))
    return {p for p in found if p}


@lru_cache(maxsize=1024)
def _sql(statement: str) -> str:
    """A statement's ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` escaped)."""
    return statement.replace("%", "%%").replace("?", "%s")


def _import_psycopg(where: str) -> ModuleType:
    try:
        import psycopg
    except ImportError:
        raise StoreError(f"{where} is a PostgreSQL store, which needs psycopg: "
                         "pip install rlhf-envs[team]") from None
    return psycopg


class PostgresBackend(Backend):
    """The store in the PostgreSQL database at ``address`` (its tables created if missing).

    :param address: a ``postgresql://`` or ``postgres://`` URI, or ``service=NAME``
    """

    def __init__(self, address: str) -> None:
        self.address = mask_password(address)
        self._secrets = _passwords(address)
        self._psycopg = _import_psycopg(self.address)
        try:
            self._conn: psycopg.Connection = self._psycopg.connect(
                address, autocommit=True, fallback_application_name="rlhf-envs")
        except self._psycopg.Error as err:
            raise StoreError(f"cannot open feedback store {self.address}: "
                             f"{self._line(err)}") from None
        try:
            if self.rows("SHOW synchronous_commit")[0][0] == "off":
                self.run("SET synchronous_commit TO on")  # commits wait for the disk
            self.transaction(self._check_create_or_upgrade)
        except BaseException:
            self._conn.close()
            raise

    def transaction(self, work: Callable[[Backend], T]) -> T:
        """Run ``work(self)`` in one transaction (``BEGIN`` ... ``COMMIT``)."""
        with self._errors(), self._conn.transaction():
            return work(self)

    def rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """The rows a query returns, as tuples."""
        with self._errors():
            return self._conn.execute(_sql(sql), params).fetchall()

    def run(self, sql: str, params: Sequence = ()) -> None:
        """Run a statement that returns no rows."""
        with self._errors():
            self._conn.execute(_sql(sql), params)

    def run_many(self, sql: str, params: Iterable[Sequence]) -> None:
        """Run one statement once per parameter row (pipelined)."""
        with self._errors(), self._conn.cursor() as cursor:
            cursor.executemany(_sql(sql), params)

    def insert(self, sql: str, params: Sequence = ()) -> int:
        """Run an ``INSERT`` of one row; the new row's id (``RETURNING id``)."""
        with self._errors():
            return self._conn.execute(_sql(sql) + " RETURNING id", params).fetchone()[0]

    def now(self) -> float:
        """The server's time: annotators' machines may disagree on theirs."""
        return float(self.rows("SELECT extract(epoch FROM clock_timestamp())")[0][0])

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def _line(self, err: Exception) -> str:
        """The driver's message on one line, any password of the address masked."""
        line = " ".join(str(err).split())
        for secret in self._secrets:
            line = line.replace(secret, MASK)
        return line

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """The driver's errors as one-line :class:`StoreError` messages naming the store."""
        try:
            yield
        except self._psycopg.IntegrityError as err:
            raise ConstraintError(self.address, self._line(err)) from None
        except self._psycopg.Error as err:
            raise DatabaseError(self.address, self._line(err)) from None

    def _check_create_or_upgrade(self, db: Backend) -> None:
        """Check, create or upgrade the store, holding the opening lock (one transaction)."""
        self.run("SELECT pg_advisory_xact_lock(?)", (LOCK_KEY,))
        tables = {name for (name,) in self.rows(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        marks = {}
        if "meta" in tables:
            try:
                marks = dict(self.rows("SELECT key, value FROM meta "
                                       "WHERE key IN ('application', 'schema_version')"))
            except DatabaseError:  # another application's meta table: not ours
                pass
        version = marks.get("schema_version", "0")
        if not version.isdigit():
            raise StoreError(f"{self.address} has a bad schema version {version!r}; restore "
                             "it from a backup")
        marked = settle(db, POSTGRES_STEPS, "a PostgreSQL database", tables=bool(tables),
                        ours=marks.get("application") == APPLICATION, version=int(version))
        if marked is not None:
            self.run("INSERT INTO meta (key, value) VALUES ('application', ?), "
                     "('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = "
                     "excluded.value", (APPLICATION, str(marked)))
