"""Labeling sessions: what the viewer asks, drawn ahead in a thread, and where answers go.

A session is the viewer's :class:`~feedback.ui.pairs.PairSource` (the shared machinery
is :class:`~feedback.ui.prepared.PreparedSession`). A background thread takes the next
questions from the store (or makes new ones from fresh segments) and
draws their clips while the person watches, so the next question shows as soon as an
answer is given. How a segment becomes frames is the caller's: a ``make_renderer``
(e.g. ``rlhf_envs``' clip renderers) is handed in and called in that thread. Every
answer is committed to the store before the next question shows, and a session started
again on the same store resumes with what is still unanswered.

- :class:`CompareSession` (``--mode compare``): pairs of clips; a share of earlier pairs
  comes back with sides swapped, which measures the annotator's self-consistency.
- :class:`RateSession` (``--mode rate``): single clips rated 1-5.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from feedback.annotators import annotator_quality
from feedback.answers import RATINGS, SKIP
from feedback.queries import select_pairs
from feedback.segments import Segment
from feedback.store import HUMAN, FeedbackStore, Query
from feedback.store.work import LEASE_SECONDS
from feedback.ui.prepared import (  # noqa: F401  (the session API, in one place)
    MakeRenderer,
    MakeSegments,
    PreparedSession,
    Progress,
)

POLL_SECONDS = 1.0  # how often a team session looks for newly posted queries


class CompareSession(PreparedSession):
    """Pairs of clips to compare: the store's unanswered queries first, then new pairs.

    The unanswered queries are a training run's, or those an earlier session left; with
    ``make_segments``, new pairs of fresh segments follow them. After an answer, a
    ``repeat_share`` of the time an earlier pair of this session comes back with its sides
    swapped.

    With ``run_id``, the session is one of a team's answering that run's queries in a
    shared store: each query is claimed under a lease (:mod:`feedback.store.work`), so no
    two annotators get one pair at once; an ``overlap_share`` of the claims is a pair
    someone else answered (agreement between people). When nothing is free it waits up to
    ``wait_seconds`` for the run to post more, then ends; closing ends its leases.
    """

    def __init__(self, store: FeedbackStore, env_id: str, annotator: str, planned: int, *,
                 repeat_share: float = 0.1, run_id: str | None = None,
                 overlap_share: float = 0.0, lease_seconds: float = LEASE_SECONDS,
                 wait_seconds: float = 0.0, **options) -> None:
        super().__init__(store, env_id, annotator, planned, **options)
        self.repeat_share, self.run_id = repeat_share, run_id
        self.overlap_share, self.lease_seconds = overlap_share, lease_seconds
        self.wait_seconds = wait_seconds
        self._served: dict[int, Query] = {}  # queries prepared in this session, by id
        self._answered: list[Query] = []  # ... and answered (candidates for repeats)
        self._queries: dict[int, int] = {}  # the query of each label given here
        self._start()

    def _items(self) -> Iterator[tuple[int, list[str]]]:
        """Pending queries, then new ones made from fresh segments (if a maker is given)."""
        if self.run_id is not None:
            yield from self._claimed()
            return
        served: set[int] = set()
        while not self._stop.is_set():
            pending = [q for q in self.store.pending_queries() if q.id not in served]
            if not pending and self._make_segments is not None:
                self._note_fruitless(not self._new_queries(self._fresh_segments()))
                continue
            if not pending:
                return
            for query in pending:
                served.add(query.id)
                self._served[query.id] = query
                yield query.id, [query.left_id, query.right_id]
                repeat = self._swapped_repeat()
                if repeat is not None:
                    served.add(repeat.id)
                    yield repeat.id, [repeat.left_id, repeat.right_id]

    def _claimed(self) -> Iterator[tuple[int, list[str]]]:
        """The run's queries, claimed one by one under a lease (a team's shared store)."""
        idle_since = None
        while not self._stop.is_set():
            overlap = self._rng.random() < self.overlap_share
            query = (overlap and self._claim(overlap=True)) or self._claim(overlap=False)
            if query is None:
                idle_since = idle_since or time.monotonic()
                waited = time.monotonic() - idle_since
                if waited >= self.wait_seconds:
                    return
                self._report(f"waiting for run {self.run_id} to post pairs "
                             f"({waited:.0f} of {self.wait_seconds:.0f} s)...")
                self._stop.wait(POLL_SECONDS)
                continue
            idle_since = None
            self._served[query.id] = query
            yield query.id, [query.left_id, query.right_id]
            repeat = self._swapped_repeat()
            if repeat is not None:
                yield repeat.id, [repeat.left_id, repeat.right_id]

    def _claim(self, overlap: bool) -> Query | None:
        """A claimed query this session has not shown yet (its own repeats are passed over)."""
        while True:
            query = self.store.claim_query(self.annotator, run_id=self.run_id,
                                           overlap=overlap, lease_seconds=self.lease_seconds)
            if query is None or query.id not in self._served:
                return query
            if overlap:  # overlap claims take no lease: the same one would come again
                return None

    def close(self) -> None:
        """Stop preparing questions; a team session's unanswered claims go back to the queue."""
        super().close()
        if self.run_id is not None:
            self.store.release_leases(self.annotator)

    def _swapped_repeat(self) -> Query | None:
        """Now and then, an answered pair again with its sides swapped (self-consistency)."""
        if not self._answered or self._rng.random() >= self.repeat_share:
            return None
        earlier = self._answered[self._rng.integers(len(self._answered))]
        left, right = earlier.right_id, earlier.left_id
        [query_id] = self.store.add_queries([(left, right)], strategy="repeat",
                                            run_id=self.run_id or "")
        if query_id in self._served or query_id not in {q.id for q in self.store.pending_queries()}:
            return None  # this swapped pair was asked before
        if self.run_id is not None and not self.store.lease_query(
                query_id, self.annotator, lease_seconds=self.lease_seconds):
            return None  # a teammate claimed it first
        query = Query(query_id, left, right, "repeat", 0, self.run_id or "")
        self._served[query_id] = query
        return query

    def _new_queries(self, segments: list[Segment]) -> bool:
        """Queue new pairs of ``segments``; False if none was new."""
        chosen = select_pairs(segments, min(8, len(segments) // 2), self._rng,
                              strategy="uniform", exclude=self.store.asked_pairs())
        pairs = [(segments[i].id, segments[j].id) for i, j in chosen]
        return bool(pairs) and bool(self.store.add_queries(pairs, strategy="uniform"))

    def _stored_by_annotator(self) -> int:
        return sum(1 for lab in self.store.labels(self.run_id)
                   if lab.annotator == self.annotator and lab.answer != SKIP
                   and not lab.flagged)

    def _waiting(self) -> int:
        return len(self.store.pending_queries(self.run_id))

    def _self_consistency(self) -> tuple[float | None, int]:
        mine = annotator_quality(self.store.labels(self.run_id)).get(self.annotator, {})
        return mine.get("self_consistency"), mine.get("repeats", 0)

    def _record(self, key: int, answer: str, seconds: float, *, flagged: bool = False,
                note: str = "") -> int:
        label = self.store.add_label(key, answer, self.annotator, annotator_kind=HUMAN,
                                     seconds=seconds, flagged=flagged, note=note)
        self._queries[label] = key
        if key in self._served and self._served[key].strategy != "repeat":
            self._answered.append(self._served[key])
        return label

    def _take_back(self, record: int) -> None:
        self.store.delete_label(record)
        if self.run_id is not None:  # shown again here: no teammate may claim it meanwhile
            self.store.lease_query(self._queries[record], self.annotator,
                                   lease_seconds=self.lease_seconds)


class RateSession(PreparedSession):
    """Single clips rated 1-5: stored segments this annotator has not rated, then fresh ones.

    First the store's segments this annotator has neither rated nor skipped yet, oldest
    first (demonstrations are not asked); then, with ``make_segments``, fresh segments.
    """

    def __init__(self, store: FeedbackStore, env_id: str, annotator: str, planned: int,
                 **options) -> None:
        super().__init__(store, env_id, annotator, planned, **options)
        self._keys: list[str] = []  # segment id of each key handed out
        self._start()

    def _unrated(self) -> list[str]:
        seen = {r.segment_id for r in self.store.ratings() if r.annotator == self.annotator}
        demos = {d.segment_id for d in self.store.demonstrations()}
        return [s for s in self.store.segment_ids() if s not in seen and s not in demos]

    def _items(self) -> Iterator[tuple[int, list[str]]]:
        served: set[str] = set()
        while not self._stop.is_set():
            waiting = [s for s in self._unrated() if s not in served]
            if not waiting and self._make_segments is not None:
                self._note_fruitless(not self._fresh_segments())
                continue
            if not waiting:
                return
            for segment_id in waiting:
                served.add(segment_id)
                self._keys.append(segment_id)
                yield len(self._keys) - 1, [segment_id]

    def _stored_by_annotator(self) -> int:
        return sum(1 for r in self.store.ratings()
                   if r.annotator == self.annotator and r.rating is not None
                   and not r.flagged)

    def _record(self, key: int, answer: str, seconds: float, *, flagged: bool = False,
                note: str = "") -> int:
        rating = None if answer == SKIP else RATINGS.index(answer) + 1
        return self.store.add_rating(self._keys[key], rating, self.annotator, seconds=seconds,
                                     flagged=flagged, note=note)

    def _take_back(self, record: int) -> None:
        self.store.delete_rating(record)
