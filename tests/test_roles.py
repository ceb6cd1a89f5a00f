"""The annotator role of a team's PostgreSQL store can answer, and can do nothing more."""

from __future__ import annotations

import uuid

import pytest

from feedback.errors import FeedbackError
from feedback.segments import cut_segments
from feedback.store import FeedbackStore
from feedback.store.roles import annotator_role_sql


@pytest.fixture
def team_store(postgres_server):
    """A store made by its owner, the annotator group's rights granted, and a login ``ana``."""
    import numpy as np

    database = postgres_server.create_database()
    owner = postgres_server.address(database)
    rng = np.random.default_rng(0)
    segments = cut_segments(rng.normal(size=(9, 3)), rng.normal(size=(8, 2)),
                            rng.normal(size=8), length=2)
    with FeedbackStore(owner) as store:
        store.add_segments(segments)
        q_ana, q_bo = store.add_queries([(segments[0].id, segments[1].id),
                                         (segments[2].id, segments[3].id)], run_id="r")
        bo_label = store.add_label(q_bo, "left", "bo", annotator_kind="human")
    import psycopg

    with psycopg.connect(owner, autocommit=True) as db:
        for statement in annotator_role_sql():
            db.execute(statement)
    name = f"ana_{uuid.uuid4().hex[:8]}"
    postgres_server.sql(f"CREATE ROLE {name} LOGIN PASSWORD 'secret' IN ROLE rlhf_annotator")
    yield postgres_server.address(database, user=name, password="secret"), name, q_ana, \
        bo_label
    postgres_server.drop_database(database)
    postgres_server.sql(f"DROP ROLE {name}")


def test_an_annotator_claims_answers_and_undoes_only_their_own(team_store):
    address, name, q_ana, bo_label = team_store
    with FeedbackStore(address) as store:
        assert store.claim_query(name, run_id="r").id == q_ana
        mine = store.add_label(q_ana, "left", name, annotator_kind="human")
        store.delete_label(mine)                                   # undo: allowed
        store.add_label(q_ana, "right", name, annotator_kind="human")
        with pytest.raises(FeedbackError, match="row-level security"):
            store.add_label(q_ana, "left", "bo", annotator_kind="human")  # in bo's name
        store.delete_label(bo_label)                               # bo's answer stays
        labels = {(lab.annotator, lab.answer) for lab in store.labels()}
        assert labels == {("bo", "left"), (name, "right")}


@pytest.mark.parametrize("statement", [
    "UPDATE labels SET answer = 'right'",
    "DELETE FROM segments",
    "DELETE FROM queries",
    "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
    "DROP TABLE labels",
    "ALTER TABLE labels ADD COLUMN x INTEGER",
    "CREATE TABLE mine (x INTEGER)",
])
def test_an_annotator_cannot_change_answers_or_the_schema(team_store, statement):
    import psycopg

    address, *_ = team_store
    with psycopg.connect(address) as db, pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(statement)
