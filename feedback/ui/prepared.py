"""The machinery every labeling session shares: questions drawn ahead, undo, counts.

It also says what it is doing while no question is ready.

A background thread takes the next questions (a subclass says which, see
:mod:`feedback.ui.sessions`) and draws their clips while the person watches, so the next
question shows as soon as an answer is given. How a segment becomes frames is the
caller's: a ``make_renderer`` (e.g. ``rlhf_envs``' clip renderers) is handed in and called
in that thread; fresh segments come from a ``make_segments`` that reports its progress.
"""

from __future__ import annotations

import queue
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Literal, Protocol

import numpy as np

from feedback.answers import SKIP
from feedback.errors import FeedbackError
from feedback.segments import Segment
from feedback.store import FeedbackStore
from feedback.ui.pairs import Pair, Tally
from feedback.ui.text_pages import same_height

UNDO_DEPTH = 20  # answers that can be taken back, newest first
FRUITLESS_ROLLOUTS = 3  # fresh rollouts in a row that give nothing new end a session
CLOSE_SECONDS = 60.0  # the longest close waits for the thread to finish the clip it draws

Progress = Callable[[str], None]  # says what a long step is doing ("rolling out 120/400")
MakeSegments = Callable[[int, Progress], list[Segment]]  # (seed, progress) -> fresh segments


class _Closed(Exception):
    """Ends a long step of the background thread once the session closes."""


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
        self.planned, self.answered = planned, 0  # usable answers: not skips, not flagged
        self.skipped = self.undone = self.flagged = 0
        self._make_renderer = make_renderer
        self._make_segments = make_segments
        self._clip_size = clip_size
        self._rng = np.random.default_rng(seed)
        self._ready: queue.Queue[Pair | None] = queue.Queue(maxsize=lookahead)
        self._history: list[tuple[int, Pair, str, bool]] = []  # (record, pair, answer, flag)
        self._shown: dict[int, Pair] = {}  # pairs handed to the viewer, not yet answered
        self._again: list[Pair] = []  # shown pairs an undo displaced: asked again first
        self._fruitless = 0
        self._rollouts = 0  # fresh rollouts made in this session
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._status = "opening the store..."  # what the background thread is doing
        self._in_store_before = 0  # this annotator's usable answers when the session began
        self._worker = threading.Thread(target=self._prepare, daemon=True, name="questions")

    def _start(self) -> None:
        self._in_store_before = self._stored_by_annotator()
        self._worker.start()

    def _report(self, status: str) -> None:
        """Say what the background thread is doing (shown while no pair is ready)."""
        self._status = status

    def _progress(self, status: str) -> None:
        """A long step's report (:data:`Progress`); ends the step once the session closes."""
        if self._stop.is_set():
            raise _Closed
        self._report(status)

    def _stored_by_annotator(self) -> int:
        """This annotator's usable answers (neither skipped nor flagged) in the store."""
        raise NotImplementedError

    def _waiting(self) -> int | None:
        """Questions the store still waits for (None: not a figure this session knows)."""
        return None

    # ----------------------------------------------------------------- what to ask
    def _items(self) -> Iterator[tuple[int, list[str]]]:
        raise NotImplementedError

    def _record(self, key: int, answer: str, seconds: float, *, flagged: bool = False,
                note: str = "") -> int:
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
        self._report("rolling out fresh clips...")
        segments = [s for s in self._make_segments(len(known) + self._rollouts - 1, self._progress)
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
                if self._stop.is_set():  # closed: draw nothing more (a clip takes ~0.5 s)
                    break
                self._report("drawing the next clips...")
                segments = self.store.get_segments(ids)
                frames = [renderer.frames(s) for s in segments]
                if len(frames) == 2 and frames[0].shape[2:] == frames[1].shape[2:]:
                    frames = same_height(frames)  # two text pages of different lengths
                ends = tuple(s.end for s in segments)  # where an episode's end was held
                self._report("")
                self._hand_over(Pair(key, frames[0], frames[1] if len(frames) > 1 else None,
                                     ends=ends))
        except _Closed:  # quitting in the middle of a rollout: nothing of it was stored
            pass
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

    def answer(self, key: int, answer: str, seconds: float, *, flagged: bool = False,
               note: str = "") -> None:
        """Store the answer to pair ``key`` (durable when this returns), and keep it for undo.

        :param key: the pair's key
        :param answer: one of the pair's answers (a skip does not count toward ``planned``)
        :param seconds: how long the pair was on screen
        :param flagged: the person marked the pair broken or unjudgeable (left out of fitting)
        :param note: the person's free text about the pair
        """
        record = self._record(key, answer, seconds, flagged=flagged, note=note)
        entry = (record, self._shown.pop(key), answer, flagged)
        self._history = [*self._history[-(UNDO_DEPTH - 1):], entry]
        self._count(answer, flagged, +1)

    def _count(self, answer: str, flagged: bool, sign: int) -> None:
        """Count an answer (sign +1) or its undo (-1): flagged, else skipped, else usable."""
        if flagged:
            self.flagged += sign
        elif answer == SKIP:
            self.skipped += sign
        else:
            self.answered += sign

    def undo(self) -> Pair | None:
        """Take back the latest answer; return its pair to show again (None: nothing to undo).

        Up to ``UNDO_DEPTH`` answers can be taken back; pairs shown but not yet answered
        are asked again right after.
        """
        if not self._history:
            return None
        record, pair, answer, flagged = self._history.pop()
        self._take_back(record)
        self._count(answer, flagged, -1)
        self.undone += 1
        self._again = list(self._shown.values()) + self._again  # the one on screen: later
        self._shown = {pair.key: pair}
        return pair

    def progress(self) -> tuple[int, int]:
        """``(answered, planned)``: usable answers kept in this session, and its target."""
        return self.answered, self.planned

    def tally(self, final: bool = False) -> Tally:
        """This session's counts, this annotator's in the store, and what still waits.

        ``final``: with the annotator's self-consistency (what the end summary shows).
        """
        tally = Tally(self.answered, self.skipped, self.undone, self.flagged, self.planned,
                      in_store=self._in_store_before + self.answered, waiting=self._waiting())
        if final:
            tally.self_consistency, tally.repeats = self._self_consistency()
        return tally

    def _self_consistency(self) -> tuple[float | None, int]:
        """The annotator's self-consistency and its repeats (None, 0: not measured)."""
        return None, 0

    def status(self) -> str:
        """What the session is doing while no question is ready ("" if nothing to say)."""
        return self._status

    def close(self) -> None:
        """Stop preparing questions and wait for the thread to end; the store stays open.

        The wait matters: a thread still drawing when the interpreter exits can crash it
        (EGL is torn down under a MuJoCo render: a segfault at exit, after every answer was
        stored). A rollout stops at its next progress report; a clip being drawn is
        finished, for up to :data:`CLOSE_SECONDS`.
        """
        self._stop.set()
        if self._worker.is_alive():
            self._worker.join(timeout=CLOSE_SECONDS)
        if self._worker.is_alive():
            warnings.warn(f"the clip-drawing thread did not stop within {CLOSE_SECONDS:g} s; "
                          "closing without it", RuntimeWarning, stacklevel=2)
