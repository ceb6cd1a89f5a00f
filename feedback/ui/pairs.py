"""What a labeling front end and a session exchange: questions, answers, counts, a guide.

Free of pygame and of any domain: the pygame viewer (:mod:`feedback.ui.viewer`) and the
notebook widget (:mod:`feedback.ui.notebook`) both show :class:`Pair` questions from a
:class:`PairSource` (e.g. the sessions of :mod:`feedback.ui.sessions`) and hand the
answers back. What an env's clips mean to a person comes from the domain side as a
:class:`ClipGuide` (``rlhf_envs`` writes them; feedback knows no env).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from feedback.answers import ANSWERS, RATINGS, SKIP

PROMPTS = ("Which clip is better?", "How good is this clip? (1 = bad, 5 = very good)")


@dataclass
class Pair:
    """A question for the person: two clips to compare, or one clip (``right`` None) to rate."""

    key: int                      # the caller's id of this question (e.g. a store query id)
    left: np.ndarray              # frames (T, H, W, 3) uint8, clip A (or the clip to rate)
    right: np.ndarray | None = None  # frames of clip B (same T, H, W); None: rate ``left``
    prompt: str | None = None     # None: the default question of its kind (PROMPTS)
    # Per clip (A, then B): the frame from which the episode was over (the env ended it:
    # a fall, a crash), or None if every frame is live. From then on the clip holds its
    # last live frame.
    ends: tuple[int | None, ...] = (None, None)

    @property
    def answers(self) -> tuple[str, ...]:
        """What the person may answer: ANSWERS to a pair, RATINGS or "skip" to one clip."""
        return (*RATINGS, SKIP) if self.right is None else ANSWERS

    def end_of(self, side: int) -> int | None:
        """The frame clip ``side`` (0: A, 1: B) is over from, or None."""
        return self.ends[side] if side < len(self.ends) else None


@dataclass
class Tally:
    """Honest counts of a session, for the status line and the end summary.

    Every stored answer is one of three: flagged (the person marked the pair broken,
    whatever they answered), else a skip, else a usable answer; ``planned`` counts
    usable answers only. Undone answers are no longer in the store and in none of them.
    """

    answers: int = 0              # usable answers stored in this session
    skips: int = 0                # skips (not flagged) stored in this session
    undone: int = 0               # answers taken back in this session
    flagged: int = 0              # answers flagged as broken or unjudgeable
    planned: int = 0              # usable answers this session is to give
    in_store: int | None = None   # this annotator's usable answers in the store, all sessions
    waiting: int | None = None    # questions the store (a run) still waits for; None: unknown
    self_consistency: float | None = None  # on repeated pairs, where measured (final tally)
    repeats: int = 0              # repeated pairs it is measured over

    @property
    def stored(self) -> int:
        """What this session left in the store: answers, skips and flagged ones."""
        return self.answers + self.skips + self.flagged


@dataclass
class ClipGuide:
    """What a person needs to judge an env's clips, written by the env's domain.

    :param task: one line: what "better" means ("run forward as fast as possible")
    :param legend: lines explaining a symbolic picture (colours, boxes, bars)
    :param fps: playback frames per second a person can follow
    :param ended: what an episode's end was (shown over a clip held at its end)
    :param aspect: width / height of the frames to draw (a road is wide, a robot square)
    :param smooth: enlarge frames smoothly (pictures of scenes) rather than
        nearest-neighbour (symbolic pictures, whose edges and stripes should stay crisp)
    :param pixels: the width clips are drawn at (smaller where drawing costs: MuJoCo on a
        CPU takes 12 ms a frame at 256 pixels, 21 ms at 384)
    """

    task: str = ""
    legend: list[str] = field(default_factory=list)
    fps: float = 30.0
    ended: str = "episode over"
    aspect: float = 1.0
    smooth: bool = False
    pixels: int = 384


class PairSource(Protocol):
    """Where pairs come from and answers go.

    The pair shown when ``undo`` is called is expected to come again from ``next_pair``
    later (the viewer does not keep it).
    """

    def next_pair(self, timeout: float) -> Pair | None | Literal["wait"]:
        """The next pair, None when the session is over, "wait" if not ready within timeout."""

    def answer(self, key: int, answer: str, seconds: float, *, flagged: bool = False,
               note: str = "") -> None:
        """Record an answer (one of ``pair.answers``); durable when it returns.

        ``flagged``: the person marked the pair broken or unjudgeable; ``note``: their
        free text about it.
        """

    def undo(self) -> Pair | None:
        """Take back the last answer; returns that pair to show again (None if nothing to undo)."""

    def progress(self) -> tuple[int, int]:
        """(usable answers given, planned)."""


def tally_of(source: object, final: bool = False) -> Tally:
    """A source's :class:`Tally` (``source.tally(final)``), or one made of its ``progress()``.

    ``final``: for the end summary, with self-consistency where the source measures it.
    """
    if hasattr(source, "tally"):
        return source.tally(final)
    done, planned = source.progress()
    return Tally(answers=done, planned=planned)


def status_of(source: object) -> str:
    """What a source is doing while no pair is ready (``source.status()``), or ""."""
    return source.status() if hasattr(source, "status") else ""
