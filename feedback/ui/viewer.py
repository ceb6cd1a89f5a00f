"""Clip viewer (pygame): people answer which of two clips is better, or rate one clip 1-5.

The viewer only draws the frames and text it is handed and passes answers on; where pairs
come from, and where answers go, is the caller's :class:`~feedback.ui.pairs.PairSource`.
What the clips mean (the task, a legend, a pace a person can follow) comes as a
:class:`~feedback.ui.pairs.ClipGuide` from the env's domain. Every answer goes to
``source.answer`` (durable when it returns) before the next pair is asked for, so quitting
at any time loses nothing.

The window is resizable and opens at most of the screen; clips fill it, keeping their
shape. Symbolic clips (roads, slates: lanes, boxes, stripes) are enlarged
nearest-neighbour, so their edges stay crisp instead of blurring (the renderers draw near
the shown size, so the factor is small); pictures of scenes (MuJoCo) are enlarged
smoothly, where blocky pixels would only add false edges (the guide's ``smooth``); any clip
is shrunk smoothly (no aliasing). Playback can be paused, stepped frame
by frame, replayed and sped up; the timeline shows the frame and where an episode ended
(the clip then holds its last frame, marked "episode over"). A pair can be flagged as
broken (F) and given a one-line note (N); both are stored with the answer. A short flash
confirms each answer and undo, and the session's summary is shown before the window
closes.

Frames taller than wide are pages (text segments, :mod:`feedback.ui.text_pages`): shown
at the clip width and scrolled with Page Up / Page Down or the mouse wheel, both sides
together.

An answer applies only to a pair that has been on screen: key presses and clicks that
arrive before the next pair is drawn wait one frame, and those made while no pair is
shown are dropped, so a fast double press never answers a pair nobody saw.
"""

from __future__ import annotations

import os
import time

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from feedback.answers import ANSWERS, RATINGS  # noqa: E402
from feedback.ui.layout import Layout, Texts, default_window_size, make_layout  # noqa: E402
from feedback.ui.pairs import (  # noqa: E402,F401  (Pair and PairSource: the viewer's API)
    PROMPTS,
    ClipGuide,
    Pair,
    PairSource,
    status_of,
    tally_of,
)
from feedback.ui.screen import open_display  # noqa: E402
from feedback.ui.viewer_draw import (  # noqa: E402
    BG,
    DIM,
    ENDED,
    FG,
    OK,
    WARN,
    ViewerCanvas,
)
from feedback.ui.viewer_input import action_of  # noqa: E402
from feedback.ui.viewer_text import KEY_HELP, RATE_HELP, flash_of, summary_lines  # noqa: E402

PAGE_PROMPTS = ("Which completion is better? (PgUp / PgDn: scroll)",
                "How good is this completion? (1-5; PgUp / PgDn: scroll)")
SCROLL_STEP = 0.8  # of the visible height, per Page Up / Page Down
MARGIN, LOOP_HZ, SPEEDS = 16, 60, (0.25, 4.0)  # MARGIN and LOOP_HZ: the demo player's too
FLASH_SECONDS, END_SCREEN_SECONDS = 1.2, 8.0
BUTTON_WIDTHS = {"equal": 130, "skip": 110, "flag": 110, "undo": 110}


class Viewer(ViewerCanvas):
    """Shows pairs from ``source`` side by side and hands the answers back to it.

    :param source: where pairs come from and answers go
    :param annotator: the person's name, shown in the status line
    :param fps: playback frames per second (default: the guide's)
    :param clip_size: the largest clip side in pixels, with a window fitted around it;
        None (the default): a window of most of the screen, clips as large as it allows
    :param title: the window's title
    :param guide: the env's task line, legend, pace and what an episode's end is called
    :param end_seconds: how long the summary stays up at the end (a key closes it sooner;
        0: no end screen)
    :param window_size: the window's size to start with (default: most of the screen)
    """

    def __init__(self, source: PairSource, *, annotator: str, fps: float | None = None,
                 clip_size: int | None = None, title: str = "rlhf-envs: compare",
                 guide: ClipGuide | None = None, end_seconds: float = END_SCREEN_SECONDS,
                 window_size: tuple[int, int] | None = None) -> None:
        self.source, self.annotator, self.title = source, annotator, title
        self.guide = guide or ClipGuide()
        self.fps = float(fps or self.guide.fps)
        self.clip_size, self.end_seconds = clip_size, end_seconds
        self.speed = 1.0
        self.pair: Pair | None = None        # the pair on screen (None while loading)
        self.frame = 0                       # frame index shown on both sides
        self.paused = False
        self.answers = 0                     # answers given over all runs (undone ones count)
        self.flagged, self.note = False, ""  # for the pair on screen
        self.note_entry: str | None = None   # the note being typed (None: not typing)
        pygame.font.init()
        self._fonts: dict[int, pygame.font.Font] = {}
        self._texts: dict[tuple, pygame.Surface] = {}
        self._window_size = window_size
        self._frame_shape = (max(1, round(100 * self.guide.aspect)), 100)  # until a pair
        self._rate, self._page = False, False
        self._window: pygame.Surface | None = None
        self._pending: list[pygame.event.Event] = []
        self._cache: list[list[pygame.Surface | None]] = [[], []]
        self._pos, self._drawn, self._shown_at = 0.0, False, 0.0
        self._page_height = 0                # a page's scaled height; 0 for clips
        self._scroll = 0                     # pixels of a page scrolled past
        self._tally = tally_of(source)
        self._flash: tuple[str, tuple, float] = ("", FG, 0.0)
        self._session_seconds, self._run_start = 0.0, time.monotonic()
        self._relayout()

    # -- public --------------------------------------------------------------------------------

    def run(self, max_seconds: float | None = None) -> int:
        """Show pairs until the source is done, the user quits, or ``max_seconds`` pass.

        When the source is done or the user quits, the session's summary stays on screen
        for ``end_seconds`` (or until a key). Returns the number of answers given in this
        call (undone answers included; :meth:`PairSource.tally` has the honest counts).
        """
        start = self._run_start = time.monotonic()
        given = self.answers
        open_display()
        if self._window_size is None and self.clip_size is None:
            self._window_size = default_window_size()
            self._relayout()
        self._window = pygame.display.set_mode(self.layout.size, pygame.RESIZABLE)
        pygame.display.set_caption(self.title)
        pygame.key.start_text_input()
        clock = pygame.time.Clock()
        ended = False
        try:
            while max_seconds is None or time.monotonic() - start < max_seconds:
                if self.pair is None and not self._fetch():
                    ended = True
                    break
                self._pending.extend(pygame.event.get())
                if self._handle_events():
                    ended = True
                    break
                step = clock.tick(LOOP_HZ) / 1000 * self.fps * self.speed
                if not self.paused:
                    self._pos += step
                self._draw()
            if ended and self.end_seconds > 0:
                left = None if max_seconds is None else max_seconds - (time.monotonic() - start)
                self._end_screen(self.end_seconds if left is None else min(left,
                                                                           self.end_seconds))
        finally:
            self._session_seconds += time.monotonic() - start
            self._run_start = time.monotonic()
            self._pending.clear()
            self._window = None
            pygame.display.quit()
        return self.answers - given

    def screenshot(self, path) -> None:
        """Save what the window shows (or showed last) as a PNG."""
        pygame.image.save(self._canvas, os.fspath(path))

    @property
    def seconds(self) -> float:
        """Seconds the window has been open over all runs."""
        running = time.monotonic() - self._run_start if self._window is not None else 0.0
        return self._session_seconds + running

    def summary(self) -> list[str]:
        """The session's summary: the end screen's lines (and what the CLI prints)."""
        return summary_lines(tally_of(self.source, final=True), self.seconds, self.annotator)

    # -- layout ---------------------------------------------------------------------------------

    def _relayout(self) -> None:
        """Lay the window out again for its size and the clips' shape (caches dropped)."""
        size = self._window_size if self.clip_size is None or self._window_size else None
        actions = ({r: 48 for r in RATINGS} | {a: BUTTON_WIDTHS[a] for a in ("skip", "flag",
                                                                               "undo")}
                   if self._rate else BUTTON_WIDTHS)
        texts = Texts(self.guide.task, list(self.guide.legend),
                      RATE_HELP if self._rate else KEY_HELP)
        self.layout: Layout = make_layout(size, self._frame_shape, self._font, texts,
                                          actions=actions, rate=self._rate, page=self._page,
                                          clip_size=self.clip_size if size is None else None)
        self._canvas = pygame.Surface(self.layout.size)
        self._canvas.fill(BG)
        if self.pair is not None:
            self._cache = [[None] * len(self.pair.left), [None] * len(self.pair.left)]
            self._page_height = (round(self._frame_shape[1] * self.layout.clip_a.width
                                       / self._frame_shape[0]) if self._page else 0)
            self._scroll = min(self._scroll, max(0, self._page_height - self.layout.clip_a.height))

    def _resize(self, size: tuple[int, int]) -> None:
        """The person resized the window: clips and text fill the new size."""
        size = (max(320, size[0]), max(240, size[1]))
        if size != self.layout.size:
            self._window_size = size
            self._relayout()
        if self._window is not None:
            self._window = pygame.display.get_surface() or self._window

    # -- pairs ----------------------------------------------------------------------------------

    def _fetch(self) -> bool:
        """Ask the source once for the next pair; False when the session is over."""
        got = self.source.next_pair(timeout=0.01)
        if got is None:
            return False
        if got != "wait":
            self._show(got)
        return True

    def _show(self, pair: Pair) -> None:
        """Put ``pair`` on screen from frame 0 (re-laying out the window if its shape changed)."""
        rate = pair.right is None
        left = np.asarray(pair.left)
        right = left if rate else np.asarray(pair.right)
        if left.ndim != 4 or left.shape[-1] != 3 or left.shape != right.shape or not len(left):
            raise ValueError(f"pair {pair.key}: clips must be (T, H, W, 3) arrays of one "
                             f"shape, got {left.shape} and {right.shape}")
        height, width = left.shape[1:3]
        page = height > width
        self.pair = Pair(pair.key, left, None if rate else right,
                         pair.prompt or (PAGE_PROMPTS if page else PROMPTS)[rate], pair.ends)
        self._scroll = 0
        if ((width, height), rate, page) != (self._frame_shape, self._rate, self._page):
            self._frame_shape, self._rate, self._page = (width, height), rate, page
            self._relayout()
            if self._window is not None and self.clip_size is not None and not self._window_size:
                self._window = pygame.display.set_mode(self.layout.size, pygame.RESIZABLE)
        self._cache = [[None] * len(left), [None] * len(left)]
        self._page_height = round(height * self.layout.clip_a.width / width) if page else 0
        self._pos, self._drawn, self._shown_at = 0.0, False, time.monotonic()
        self.frame, self.flagged, self.note, self.note_entry = 0, False, "", None
        self._tally = tally_of(self.source)

    def _answer(self, answer: str) -> None:
        """Commit an answer for the pair on screen, then move on to the next pair."""
        assert self.pair is not None
        self.source.answer(self.pair.key, answer, time.monotonic() - self._shown_at,
                           flagged=self.flagged, note=self.note)
        self.answers += 1
        self._flash_now(flash_of(answer, self.flagged, self.note), WARN if self.flagged else OK)
        self.pair = None
        self._tally = tally_of(self.source)
        self._fetch()            # an instantly ready pair is shown without a "loading" flash

    def _flash_now(self, text: str, color) -> None:
        self._flash = (text, color, time.monotonic() + FLASH_SECONDS)

    # -- input ----------------------------------------------------------------------------------

    def _handle_events(self) -> bool:
        """Act on pending events in order; True to quit. Answers wait for a drawn pair."""
        while self._pending:
            event = self._pending[0]
            if event.type in (pygame.VIDEORESIZE, pygame.WINDOWRESIZED,
                              pygame.WINDOWSIZECHANGED):
                self._pending.pop(0)
                size = ((event.w, event.h) if event.type == pygame.VIDEORESIZE
                        else (event.x, event.y))
                self._resize(size)
                continue
            if self.note_entry is not None:
                self._pending.pop(0)
                if event.type == pygame.QUIT:
                    return True
                self._type_note(event)
                continue
            action = action_of(event, self.layout, rate=self._rate)
            answer = action in ANSWERS or action in RATINGS
            if answer or action == "undo":
                if self.pair is not None and not self._drawn:
                    return False                        # keep it for after the next draw
            self._pending.pop(0)
            if action == "quit":
                return True
            if answer and self.pair is not None and action in self.pair.answers:
                self._answer(action)
            elif action == "undo":
                again = self.source.undo()
                if again is not None:
                    self._show(again)
                    self._flash_now("Undone: the last answer is taken back; answer it again",
                                    ENDED)
                else:
                    self._flash_now("Nothing to undo", DIM)
                self._tally = tally_of(self.source)
            elif self.pair is not None and action is not None:
                self._command(action, event)
        return False

    def _command(self, action: str, event: pygame.event.Event) -> None:
        """Playback, scrolling, flag and note commands for the pair on screen."""
        length = len(self.pair.left)
        if action == "replay":
            self._pos, self.frame, self.paused = 0.0, 0, False
        elif action == "pause":
            self.paused = not self.paused
            self._pos = float(int(self._pos) % length)
        elif action in ("frame back", "frame on"):
            self.paused = True
            self._pos = float((int(self._pos) + (1 if action == "frame on" else -1)) % length)
        elif action == "seek":
            lay = self.layout.timeline
            share = (event.pos[0] - lay.left) / max(lay.width, 1)
            self._pos = float(min(length - 1, max(0, int(share * length))))
        elif action in ("scroll up", "scroll down"):
            step = round(SCROLL_STEP * self.layout.clip_a.height)
            most = max(0, self._page_height - self.layout.clip_a.height)
            self._scroll += step if action == "scroll down" else -step
            self._scroll = min(most, max(0, self._scroll))
        elif action in ("faster", "slower"):
            factor = 2.0 if action == "faster" else 0.5
            self.speed = min(SPEEDS[1], max(SPEEDS[0], self.speed * factor))
        elif action == "flag":
            self.flagged = not self.flagged
            self._flash_now("Flagged as broken: stored with your answer (F: unflag)"
                            if self.flagged else "Flag taken off", WARN if self.flagged else DIM)
        elif action == "note":
            self.note_entry = self.note

    def _type_note(self, event: pygame.event.Event) -> None:
        """A key or text while the note is typed: Enter keeps it, Esc drops the edit."""
        if event.type == pygame.TEXTINPUT:
            self.note_entry = (self.note_entry + event.text)[:500]
        elif event.type == pygame.KEYDOWN and event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.note, self.note_entry = self.note_entry.strip(), None
            self._flash_now("Note kept: stored with your answer" if self.note
                            else "No note", OK if self.note else DIM)
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE:
            self.note_entry = None
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_BACKSPACE:
            self.note_entry = self.note_entry[:-1]
