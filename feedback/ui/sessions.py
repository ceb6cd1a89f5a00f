"""Labeling sessions: what the viewer asks, drawn ahead in a thread, and where answers go.

A session is the viewer's :class:`~feedback.ui.viewer.PairSource`. A background thread
takes the next questions from the store (or makes new ones from fresh segments) and
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

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Literal, Protocol

import numpy as np

from feedback.answers import RATINGS
from feedback.errors import FeedbackError
from feedback.queries import select_pairs
from feedback.segments import Segment
from feedback.store import HUMAN, FeedbackStore, Query
from feedback.store.work import LEASE_SECONDS
from feedback.ui.text_pages import same_height
from feedback.ui.viewer import Pair

UNDO_DEPTH = 20  # answers that can be taken back, newest first
POLL_SECONDS = 1.0  # how often a team session looks for newly posted queries
FRUITLESS_ROLLOUTS = 3  # fresh rollouts in a row that give nothing new end a session

MakeSegments = Callable[[int], list[Segment]]  # seed -> fresh segments


class FrameRenderer(Protocol):
    """Draws a segment's clip: ``(T, H, W, 3)`` uint8 frames."""

    def frames(self, segment: Segment) -> np.ndarray:
        """The frames of ``segment``."""

    def close(self) -> None:
        """Free what drawing holds (GL contexts, windows)."""


MakeRenderer = Callable[[int], FrameRenderer]  # clip size in pixels -> a renderer


class PreparedSession:
    """The machinery every session shares: background drawing, undo, progress.

    Subclasses say what to ask (:meth:`_items`: a key and the ids of one or two stored
    segments) and how to store and take back an answer (:meth:`_record`, :meth:`_take_back`),
    and call :meth:`_start` at the end of their ``__init__``.
    """

    def __init__(self, store: FeedbackStore, env_id: str, annotator: str, planned: int, *,
                 make_renderer: MakeRenderer, make_segments: MakeSegments | None = None,
                 clip_size: int = 128, lookahead: int = 2, seed: int = 0) -> None:
        self.store, self.env_id, self.annotator = store, env_id, annotator
        self.planned, self.answered = planned, 0
        self._make_renderer = make_renderer
        self._make_segments = make_segments
        self._clip_size = clip_size
        self._rng = np.random.default_rng(seed)
        self._ready: queue.Queue[Pair | None] = queue.Queue(maxsize=lookahead)
        self._history: list[tuple[int, Pair]] = []  # (record id, pair) for undo
        self._shown: dict[int, Pair] = {}  # pairs handed to the viewer, not yet answered
        self._again: list[Pair] = []  # shown pairs an undo displaced: asked again first
        self._fruitless = 0
        self._rollouts = 0  # fresh rollouts made in this session
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._prepare, daemon=True, name="questions")

    def _start(self) -> None:
        self._worker.start()

    # ----------------------------------------------------------------- what to ask
    def _items(self) -> Iterator[tuple[int, list[str]]]:
        raise NotImplementedError

    def _record(self, key: int, answer: str, seconds: float) -> int:
        """Store an answer; returns the id :meth:`_take_back` needs."""
        raise NotImplementedError

    def _take_back(self, record: int) -> None:
        raise NotImplementedError

    def _fresh_segments(self) -> list[Segment]:
        """Segments of a new rollout that the store did not hold (now stored), or [].

        The rollout is seeded by how many segments the store holds plus the rollouts of
        this session, so each batch is new, also in a session started again on the same
        store; segments already there (a seed used before, e.g. by a session with another
        ``--seed``) are not new, and such a rollout counts as fruitless.
        """
        if self._make_segments is None or self._stop.is_set():
            return []
        known = set(self.store.segment_ids())
        self._rollouts += 1
        segments = [s for s in self._make_segments(len(known) + self._rollouts - 1)
                    if s.id not in known]
        self.store.add_segments(segments)
        return segments

    def _note_fruitless(self, fruitless: bool) -> None:
        """Count fresh rollouts that gave nothing to ask; give up after a few in a row."""
        self._fruitless = self._fruitless + 1 if fruitless else 0
        if self._fruitless >= FRUITLESS_ROLLOUTS:
            raise FeedbackError(f"fresh rollouts of {self.env_id} gave nothing new to ask "
                                "(are its episodes shorter than a clip?)")

    # ----------------------------------------------------------------- background
    def _prepare(self) -> None:
        renderer = None
        try:
            renderer = self._make_renderer(self._clip_size)  # here: GL contexts are per thread
            for key, ids in self._items():
                frames = [renderer.frames(s) for s in self.store.get_segments(ids)]
                if len(frames) == 2 and frames[0].shape[2:] == frames[1].shape[2:]:
                    frames = same_height(frames)  # two text pages of different lengths
                self._hand_over(Pair(key, frames[0], frames[1] if len(frames) > 1 else None))
        except BaseException as err:  # shown to the person by next_pair, not lost in a thread
            self._error = err
        finally:
            if renderer is not None:
                renderer.close()
            self._hand_over(None)  # the end of the questions

    def _hand_over(self, item: Pair | None) -> None:
        """Queue a prepared pair (or the end mark); give up once the session closes."""
        while not self._stop.is_set():
            try:
                self._ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    # ----------------------------------------------------------------- PairSource
    def next_pair(self, timeout: float) -> Pair | None | Literal["wait"]:
        """The next pair to show: None when the session is over, "wait" if none is ready yet.

        Pairs an undo displaced come first; an error of the background thread is raised
        here, once its questions run out.
        """
        if self.answered >= self.planned:
            return None
        if self._again:
            pair = self._again.pop(0)
            self._shown[pair.key] = pair
            return pair
        try:
            pair = self._ready.get(timeout=timeout)
        except queue.Empty:
            return "wait"
        if pair is None:
            self._ready.put_nowait(None)  # stay at the end for later calls (room: just taken)
            if self._error is not None:
                raise self._error
            return None
        self._shown[pair.key] = pair
        return pair

    def answer(self, key: int, answer: str, seconds: float) -> None:
        """Store the answer to pair ``key`` (durable when this returns), and keep it for undo."""
        record = self._record(key, answer, seconds)
        self._history = [*self._history[-(UNDO_DEPTH - 1):], (record, self._shown.pop(key))]
        self.answered += 1

    def undo(self) -> Pair | None:
        """Take back the latest answer; return its pair to show again (None: nothing to undo).

        Up to ``UNDO_DEPTH`` answers can be taken back; pairs shown but not yet answered
        are asked again right after.
        """
        if not self._history:
            return None
        record, pair = self._history.pop()
        self._take_back(record)
        self.answered -= 1
        self._again = list(self._shown.values()) + self._again  # the one on screen: later
        self._shown = {pair.key: pair}
        return pair

    def progress(self) -> tuple[int, int]:
        """``(answered, planned)``: answers kept in this session, and its target."""
        return self.answered, self.planned

    def close(self) -> None:
        """Stop preparing questions (waiting up to 5 s for the thread); the store stays open."""
        self._stop.set()
        if self._worker.is_alive():
            self._worker.join(timeout=5)


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
                if time.monotonic() - idle_since >= self.wait_seconds:
                    return
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

    def _record(self, key: int, answer: str, seconds: float) -> int:
        label = self.store.add_label(key, answer, self.annotator, annotator_kind=HUMAN,
                                     seconds=seconds)
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

    def _record(self, key: int, answer: str, seconds: float) -> int:
        rating = None if answer == "skip" else RATINGS.index(answer) + 1
        return self.store.add_rating(self._keys[key], rating, self.annotator, seconds=seconds)

    def _take_back(self, record: int) -> None:
        self.store.delete_rating(record)
