"""The two store backends as tests see them: new store addresses and raw access.

The ``backend`` fixture (conftest.py) hands a test one of these. ``address(name)`` is a
new, empty store's address (an SQLite file in the test's folder, or a fresh PostgreSQL
database, dropped after the test); ``connect(address)`` opens the database underneath
for writing by hand (statements with ``?`` placeholders, one transaction, committed on
leaving), as older rlhf-envs versions or other programs would have.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from feedback.store.postgres import APPLICATION
from feedback.store.schema import POSTGRES_STEPS, SQLITE_STEPS, statements
from feedback.store.sqlite import APPLICATION_ID


class Raw:
    """A database connection for writing a store by hand."""

    def __init__(self, connection, placeholder: str) -> None:
        self._db, self._placeholder = connection, placeholder

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        cursor = self._db.execute(sql.replace("?", self._placeholder), params)
        return cursor.fetchall() if cursor.description else []

    def script(self, script: str) -> None:
        for statement in statements(script):
            self.execute(statement)


class SQLiteStores:
    kind = "sqlite"
    steps = SQLITE_STEPS

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def address(self, name: str = "feedback") -> str:
        return str(self.folder / f"{name}.db")

    @contextmanager
    def connect(self, address: str) -> Iterator[Raw]:
        db = sqlite3.connect(address)
        try:
            with db:
                yield Raw(db, "?")
        finally:
            db.close()

    def mark(self, raw: Raw, version: int) -> None:
        """Mark a hand-made store as ours, at ``version``."""
        raw.execute(f"PRAGMA application_id={APPLICATION_ID}")
        raw.execute(f"PRAGMA user_version={version}")

    def version(self, address: str) -> int:
        with self.connect(address) as raw:
            return raw.execute("PRAGMA user_version")[0][0]

    def tables(self, address: str) -> set[str]:
        with self.connect(address) as raw:
            return {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE "
                                              "type = 'table'")}

    def columns(self, address: str) -> dict[str, list[str]]:
        with self.connect(address) as raw:
            return {t: [c[1] for c in raw.execute(f"PRAGMA table_info({t})")]
                    for t in sorted(self.tables(address))}

    def snapshot(self, address: str) -> bytes:
        """What must not change when a store is refused: the file's bytes."""
        return Path(address).read_bytes()

    def finish(self) -> None:
        pass


class PostgresStores:
    kind = "postgres"
    steps = POSTGRES_STEPS

    def __init__(self, server) -> None:
        self.server, self._databases = server, []

    def address(self, name: str = "feedback") -> str:
        self._databases.append(self.server.create_database())
        return self.server.address(self._databases[-1])

    @contextmanager
    def connect(self, address: str) -> Iterator[Raw]:
        import psycopg

        with psycopg.connect(address) as db:  # commits on leaving
            yield Raw(db, "%s")

    def mark(self, raw: Raw, version: int) -> None:
        raw.execute("INSERT INTO meta VALUES ('application', ?), ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (APPLICATION, str(version)))

    def version(self, address: str) -> int:
        with self.connect(address) as raw:
            return int(raw.execute("SELECT value FROM meta WHERE key = 'schema_version'")[0][0])

    def tables(self, address: str) -> set[str]:
        with self.connect(address) as raw:
            return {r[0] for r in raw.execute("SELECT tablename FROM pg_tables WHERE "
                                              "schemaname = current_schema()")}

    def columns(self, address: str) -> dict[str, list[str]]:
        with self.connect(address) as raw:
            rows = raw.execute("SELECT table_name, column_name FROM information_schema.columns "
                               "WHERE table_schema = current_schema() "
                               "ORDER BY table_name, ordinal_position")
        found = {}
        for table, column in rows:
            found.setdefault(table, []).append(column)
        return found

    def snapshot(self, address: str) -> tuple:
        """What must not change when a store is refused: its tables and their rows."""
        tables = sorted(self.tables(address))
        with self.connect(address) as raw:
            return tuple((t, sorted(map(repr, raw.execute(f"SELECT * FROM {t}"))))
                         for t in tables)

    def finish(self) -> None:
        for name in self._databases:
            self.server.drop_database(name)
