"""Handing a run's queries out to a team: leases, expiry and a deliberate overlap.

Several annotators answer one training run's queries from their own machines. A query is
handed out under a *lease*: one annotator at a time holds it, until they answer (the
lease ends with the answer) or the lease expires (their window closed, their machine
died) and the query goes back to the queue. Claiming is one transaction in which the
lease is inserted with ``ON CONFLICT DO NOTHING`` on the query's key, so two annotators
claiming at once never both get it, on SQLite (one writer at a time) as on PostgreSQL
(the second insert waits for the first to commit, then finds the key taken); a query
whose answer committed since the candidates were read is let go again.

Lease times are the database's clock (PostgreSQL: the server's), not the annotators'
machines'.

An *overlap* claim is deliberate: a query someone else answered already, for measuring
agreement between people; it takes no lease. An answer given after its lease expired and
the query passed on is still kept (nothing acknowledged is lost); the query then has two
answers.
"""

from __future__ import annotations

from feedback.store.backend import Backend
from feedback.store.records import HUMAN, Query

LEASE_SECONDS = 300.0  # how long a handed-out query waits for its annotator's answer
CANDIDATES = 20  # pending queries tried per claim (others may be claiming the first ones)

QUERY_COLUMNS = "q.id, q.left_id, q.right_id, q.strategy, q.iteration, q.run_id"
OF_RUN = "(CAST(? AS TEXT) IS NULL OR q.run_id = ?)"  # params (run_id, run_id); None: any


class WorkQueue:
    """The store's work queue (mixed into :class:`~feedback.store.FeedbackStore`).

    Uses the store's ``_transaction``, ``_query`` and ``_annotator``.
    """

    def claim_query(self, annotator: str, *, run_id: str | None = None,
                    lease_seconds: float = LEASE_SECONDS, overlap: bool = False,
                    annotator_kind: str = HUMAN) -> Query | None:
        """Hand the oldest free pending query (of run ``run_id``) to ``annotator``.

        Free: unanswered, with no lease that is still running. ``overlap`` asks instead
        for a query others answered and ``annotator`` has not (no lease; None if there
        is none, then ask again without ``overlap``). None when nothing is free.
        ``annotator_kind`` is recorded for a new annotator (a scripted one is synthetic).
        """
        def work(db: Backend) -> Query | None:
            now = db.now()
            who = self._annotator(db, annotator, annotator_kind)
            if overlap:
                row = db.one(
                    f"SELECT {QUERY_COLUMNS} FROM queries q WHERE {OF_RUN} AND EXISTS (SELECT 1 "
                    "FROM labels l WHERE l.query_id = q.id AND l.annotator_id <> ?) AND NOT "
                    "EXISTS (SELECT 1 FROM labels l WHERE l.query_id = q.id AND "
                    "l.annotator_id = ?) ORDER BY q.id", (run_id, run_id, who, who))
                return None if row is None else Query(*row)
            candidates = db.rows(
                f"SELECT {QUERY_COLUMNS} FROM queries q WHERE {OF_RUN} AND NOT EXISTS (SELECT 1 "
                "FROM labels l WHERE l.query_id = q.id) AND NOT EXISTS (SELECT 1 FROM leases "
                f"s WHERE s.query_id = q.id AND s.expires > ?) ORDER BY q.id LIMIT {CANDIDATES}",
                (run_id, run_id, now))
            for row in candidates:
                if _take_lease(db, row[0], who, now, lease_seconds):
                    return Query(*row)
            return None

        return self._transaction(work)

    def lease_query(self, query_id: int, annotator: str, *,
                    lease_seconds: float = LEASE_SECONDS,
                    annotator_kind: str = HUMAN) -> bool:
        """Claim one given query (e.g. a swapped repeat just asked); False if it is taken."""
        def work(db: Backend) -> bool:
            who = self._annotator(db, annotator, annotator_kind)
            return _take_lease(db, query_id, who, db.now(), lease_seconds)

        return self._transaction(work)

    def release_leases(self, annotator: str) -> int:
        """End ``annotator``'s running leases (a session closing): how many there were."""
        def work(db: Backend) -> int:
            mine = "annotator_id = (SELECT id FROM annotators WHERE name = ?)"
            held = db.one(f"SELECT count(*) FROM leases WHERE {mine}", (annotator,))[0]
            db.run(f"DELETE FROM leases WHERE {mine}", (annotator,))
            return held

        return self._transaction(work)

    def leases(self) -> list[tuple[int, str, float]]:
        """Every lease: ``(query_id, annotator, expires)`` (a Unix time), oldest query first."""
        return [tuple(row) for row in self._query(
            "SELECT s.query_id, a.name, s.expires FROM leases s JOIN annotators a ON "
            "a.id = s.annotator_id ORDER BY s.query_id")]


def _take_lease(db: Backend, query_id: int, who: int, now: float, seconds: float) -> bool:
    """Lease an unanswered query to annotator ``who`` unless someone holds it: whether it did.

    An expired lease is replaced. The insert on the query's key is what makes claims
    exclusive; the answered check after it sees answers committed meanwhile (PostgreSQL:
    the candidates were read before; each statement sees what is committed when it starts).
    """
    db.run("DELETE FROM leases WHERE query_id = ? AND expires <= ?", (query_id, now))
    expires = now + seconds
    db.run("INSERT INTO leases (query_id, annotator_id, expires) VALUES (?, ?, ?) "
           "ON CONFLICT DO NOTHING", (query_id, who, expires))
    if db.one("SELECT annotator_id, expires FROM leases WHERE query_id = ?",
              (query_id,)) != (who, expires):
        return False  # another annotator holds it
    if db.one("SELECT 1 FROM labels WHERE query_id = ?", (query_id,)) is None:
        return True
    db.run("DELETE FROM leases WHERE query_id = ?", (query_id,))
    return False
