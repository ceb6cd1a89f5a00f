"""What only a PostgreSQL store has: addresses, credentials, its connection, its dialect.

The behaviour both backends share is tested in test_store.py, on each of them.
"""

import secrets
import sys

import pytest
from conftest import one_line
from store_backends import PostgresStores, SQLiteStores

from feedback.errors import StoreError
from feedback.store import FeedbackStore
from feedback.store.postgres import mask_password


@pytest.mark.parametrize(("address", "shown"), [
    ("postgresql://ana:s3cret@db.example:5432/team", "postgresql://ana:****@db.example:5432/team"),
    ("postgres://ana:s3cret@h1,h2/team?sslmode=require",
     "postgres://ana:****@h1,h2/team?sslmode=require"),
    ("postgresql://ana@db.example/team?password=s3cret&application_name=x",
     "postgresql://ana@db.example/team?password=****&application_name=x"),
    ("postgresql:///team?host=/run/pg", "postgresql:///team?host=/run/pg"),
    ("service=team password=s3cret", "service=team password=****"),
    ("service=team password = 'it\\'s s3cret' user=ana", "service=team password = **** user=ana"),
])
def test_passwords_are_masked_in_addresses(address, shown):
    assert mask_password(address) == shown


def test_without_psycopg_a_postgres_address_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    with pytest.raises(StoreError) as err:
        FeedbackStore("postgresql://ana:s3cret@db.example/team")
    message = one_line(err)
    assert "pip install rlhf-envs[team]" in message and "s3cret" not in message
    assert "postgresql://ana:****@db.example/team" in message


@pytest.fixture(scope="session")
def ana(postgres_server):
    """A role that logs in with a password (with characters a URI must escape)."""
    password = f"pw@/#{secrets.token_hex(8)}"
    postgres_server.sql(f"CREATE ROLE ana LOGIN PASSWORD '{password}'")
    return password


@pytest.fixture
def ana_database(postgres_server, ana):
    name = postgres_server.create_database(owner="ana")
    yield name
    postgres_server.drop_database(name)


def test_the_password_never_shows_in_repr_or_errors(postgres_server, ana, ana_database):
    address = postgres_server.address(ana_database, user="ana", password=ana)
    encoded = address.split("//ana:", 1)[1].split("@/", 1)[0]
    with FeedbackStore(address) as store:
        for shown in (repr(store), store.address):
            assert ana not in shown and encoded not in shown and "ana:****@" in shown
    with PostgresStores(postgres_server).connect(address) as raw:
        PostgresStores(postgres_server).mark(raw, 99)
    with pytest.raises(StoreError) as err:
        FeedbackStore(address)  # newer: refused in one line that names it, masked
    message = one_line(err)
    assert "schema version 99" in message and "ana:****@" in message
    assert ana not in message and encoded not in message

    wrong = postgres_server.address(ana_database, user="ana", password="wrong-" + ana)
    with pytest.raises(StoreError) as err:
        FeedbackStore(wrong)
    message = one_line(err)
    assert "password authentication failed" in message and "wrong-" not in message


def test_credentials_come_from_a_service_and_a_password_file(postgres_server, ana,
                                                             ana_database, tmp_path,
                                                             monkeypatch):
    services, passwords = tmp_path / "pg_service.conf", tmp_path / "pgpass"
    services.write_text(f"[rlhf-team]\nhost={postgres_server.folder}\nport=5432\n"
                        f"dbname={ana_database}\nuser=ana\n")
    passwords.write_text(f"*:*:*:ana:{ana}\n")
    passwords.chmod(0o600)  # libpq ignores a password file others can read
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    monkeypatch.setenv("PGPASSFILE", str(passwords))
    with FeedbackStore("service=rlhf-team") as store:
        assert store.address == "service=rlhf-team" and store.path is None
        assert store.label_count() == 0
    with pytest.raises(StoreError) as err:
        FeedbackStore("service=rlhf-team password=not-it")  # the address's password wins
    message = one_line(err)
    assert "password authentication failed" in message and "not-it" not in message
    with pytest.raises(StoreError) as err:
        FeedbackStore("service=no-such-service")
    assert "service=no-such-service" in one_line(err)


def test_commits_wait_for_the_disk_even_where_the_server_says_otherwise(postgres_server):
    name = postgres_server.create_database()
    try:
        postgres_server.sql(f"ALTER DATABASE {name} SET synchronous_commit = off")
        with FeedbackStore(postgres_server.address(name)) as store:
            assert store._db.rows("SHOW synchronous_commit") == [("on",)]
    finally:
        postgres_server.drop_database(name)


def test_a_lost_connection_is_one_line_naming_the_store(postgres_server):
    name = postgres_server.create_database()
    store = FeedbackStore(postgres_server.address(name))
    postgres_server.drop_database(name)  # closes the store's connection
    with pytest.raises(StoreError) as err:
        store.label_count()
    assert one_line(err).startswith(store.address + ": ")
    store.close()


def test_both_dialects_make_the_same_tables_and_columns(postgres_server, tmp_path):
    sqlite = SQLiteStores(tmp_path)
    name = postgres_server.create_database()
    try:
        lite, pg = sqlite.address(), postgres_server.address(name)
        FeedbackStore(lite).close()
        FeedbackStore(pg).close()
        columns = PostgresStores(postgres_server).columns(pg)
        for table in ("segments", "demonstrations"):  # SQLite's implicit rowid, made explicit
            columns[table].remove("rowid")
        assert columns == sqlite.columns(lite)
    finally:
        postgres_server.drop_database(name)
