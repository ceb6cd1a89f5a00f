"""Demonstration player (pygame): a person acts in an env with the keyboard.

Like :mod:`feedback.ui.viewer`, the player knows nothing of the domains: its
:class:`DemoSource` says which keys do what, turns a key into an action, steps the env
and stores what the person did; the player shows the :class:`Scene` it gets back and
passes keys on. Two paces:

- real time (``step_seconds`` set, e.g. driving): the env steps on a timer with the
  last control key pressed since the previous step, or the default action if none;
- turn by turn (``step_seconds`` None, e.g. recommendation): every key goes to the
  source at once, which steps when it has a whole action.

A scene with a ``banner`` (an episode's end: "crashed") is held on screen for its
``hold`` seconds before the timer steps again. The window is resizable; the picture
fills the left of it and the text, wrapped, the right. Q or Esc quits; what the source
has stored stays stored, and the session's summary is shown before the window closes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from feedback.ui.layout import MARGIN, default_window_size, font_scale, wrap  # noqa: E402
from feedback.ui.pairs import ClipGuide, Tally, tally_of  # noqa: E402
from feedback.ui.screen import open_display  # noqa: E402
from feedback.ui.viewer import END_SCREEN_SECONDS, LOOP_HZ  # noqa: E402
from feedback.ui.viewer_draw import BG, DIM, ENDED, FG, end_screen  # noqa: E402
from feedback.ui.viewer_text import summary_lines  # noqa: E402

QUIT_KEYS = ("q", "escape")
TEXT_SHARE = 0.4  # of the window's width, for the text beside the picture


@dataclass
class Scene:
    """What to show: the env's picture, a title, and lines of text beside it."""

    frame: np.ndarray                        # (H, W, 3) uint8
    title: str = ""
    lines: list[str] = field(default_factory=list)
    banner: str = ""                         # over the picture (e.g. "episode over: crashed")
    hold: float = 0.0                        # seconds to hold this scene before stepping on


class DemoSource(Protocol):
    """An env a person acts in, and where the demonstrations go."""

    controls: dict[str, str]     # pygame key name ("left", "up", "1") -> what it does
    step_seconds: float | None   # real time: seconds per step; None: turn by turn

    def start(self) -> Scene:
        """The first scene."""

    def act(self, key: str | None) -> Scene | None:
        """Apply a key; the next scene, or None when the planned demonstrations are recorded.

        ``key`` None means the timer ran out: take the default action.
        """

    def progress(self) -> tuple[int, int]:
        """(demonstrations recorded, planned)."""


class DemoPlayer:
    """Shows a :class:`DemoSource`'s scenes and hands it the person's keys.

    :param source: the env a person acts in
    :param annotator: the person's name, shown in the status line
    :param frame_size: the largest picture side in pixels, with a window fitted around it;
        None (the default): a window of most of the screen, the picture as large as fits
    :param title: the window's title
    :param guide: the env's task line (shown on top)
    :param end_seconds: how long the summary stays up at the end (0: no end screen)
    """

    def __init__(self, source: DemoSource, *, annotator: str, frame_size: int | None = None,
                 title: str = "rlhf-envs: demonstrate", guide: ClipGuide | None = None,
                 end_seconds: float = END_SCREEN_SECONDS) -> None:
        self.source, self.annotator, self.title = source, annotator, title
        self.frame_size, self.end_seconds = frame_size, end_seconds
        self.guide = guide or ClipGuide()
        self.scene: Scene | None = None
        self.keys_used = 0
        pygame.font.init()
        self._fonts: dict[int, pygame.font.Font] = {}
        self._size = ((frame_size + 3 * MARGIN + 420, frame_size + 2 * MARGIN + 160)
                      if frame_size else None)
        self._canvas = pygame.Surface(self._size or (640, 480))
        self._window: pygame.Surface | None = None
        self._seconds, self._run_start = 0.0, time.monotonic()

    def run(self, max_seconds: float | None = None) -> int:
        """Play until the source is done, the person quits or ``max_seconds`` pass.

        Returns how many demonstrations the source recorded meanwhile.
        """
        start = self._run_start = time.monotonic()
        before = self.source.progress()[0]
        open_display()
        self._size = self._size or default_window_size()
        self._canvas = pygame.Surface(self._size)
        self._window = pygame.display.set_mode(self._size, pygame.RESIZABLE)
        pygame.display.set_caption(self.title)
        clock = pygame.time.Clock()
        ended = False
        try:
            self.scene = self.scene or self.source.start()
            pending, next_step = None, time.monotonic() + (self.source.step_seconds or 0)
            while self.scene is not None and (
                    max_seconds is None or time.monotonic() - start < max_seconds):
                keys = self._keys()
                if any(key in QUIT_KEYS for key in keys):
                    ended = True
                    break
                for key in keys:
                    if key in self.source.controls and self.scene is not None:
                        self.keys_used += 1
                        if self.source.step_seconds is None:
                            self.scene = self.source.act(key)
                        else:
                            pending = key
                step = self.source.step_seconds
                if self.scene is not None and step is not None and time.monotonic() >= next_step:
                    self.scene = self.source.act(pending)
                    hold = self.scene.hold if self.scene is not None else 0.0
                    pending, next_step = None, time.monotonic() + step + hold
                if self.scene is not None:
                    self._draw()
                clock.tick(LOOP_HZ)
            ended = ended or self.scene is None
            if ended and self.end_seconds > 0:
                left = None if max_seconds is None else max_seconds - (time.monotonic() - start)
                end_screen(self, self.end_seconds if left is None else min(left,
                                                                           self.end_seconds))
        finally:
            self._seconds += time.monotonic() - start
            self._window = None
            pygame.display.quit()
        return self.source.progress()[0] - before

    def screenshot(self, path) -> None:
        """Save what the window shows (or showed last) as a PNG."""
        pygame.image.save(self._canvas, os.fspath(path))

    def summary(self) -> list[str]:
        """The session's summary: the end screen's lines (and what the CLI prints)."""
        tally: Tally = tally_of(self.source, final=True)
        running = time.monotonic() - self._run_start if self._window is not None else 0.0
        return summary_lines(tally, self._seconds + running, self.annotator,
                             noun="demonstration")

    def _keys(self) -> list[str]:
        """Names of the keys pressed since the last call (and "escape" for closing)."""
        names = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                names.append("escape")
            elif event.type == pygame.KEYDOWN:
                names.append(pygame.key.name(event.key))
            elif event.type == pygame.VIDEORESIZE:
                self._resize((event.w, event.h))
        return names

    def _resize(self, size: tuple[int, int]) -> None:
        self._size = (max(480, size[0]), max(320, size[1]))
        self._canvas = pygame.Surface(self._size)
        self._window = pygame.display.get_surface() or self._window

    def _font(self, points: int) -> pygame.font.Font:
        size = round(points * (font_scale(self._size) if not self.frame_size else 1.0))
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def _text(self, text: str, points: int, color, **where) -> pygame.Rect:
        surface = self._font(points).render(text, True, color)
        rect = surface.get_rect(**where)
        self._canvas.blit(surface, rect)
        return rect

    def _draw(self) -> None:
        assert self.scene is not None
        canvas, (width, height) = self._canvas, self._size
        canvas.fill(BG)
        inner = width - 2 * MARGIN
        y = self._text(self.scene.title, 30, FG, topleft=(MARGIN, MARGIN)).bottom + 4
        for line in wrap(self.guide.task, self._font(24), inner) if self.guide.task else []:
            y = self._text(line, 24, ENDED, topleft=(MARGIN, y)).bottom
        top = y + 8
        controls = self._controls_lines(inner)
        line = self._font(22).get_linesize()
        bottom = height - MARGIN - line * (len(controls) + 1)
        text_x = MARGIN + round((width - 2 * MARGIN) * (1 - TEXT_SHARE))
        side = self.frame_size or max(32, min(text_x - 2 * MARGIN, bottom - top - 8))
        frame = np.ascontiguousarray(self.scene.frame)
        raw = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
        h, w = frame.shape[:2]
        scale = min(side / w, (bottom - top - 8) / h if not self.frame_size else side / h)
        box = pygame.Rect(MARGIN, top, max(1, round(w * scale)), max(1, round(h * scale)))
        canvas.blit(pygame.transform.scale(raw, box.size), box)
        if self.scene.banner:
            band = pygame.Rect(box.left, box.centery - line, box.width, 2 * line)
            canvas.fill((60, 40, 20), band)
            self._text(self.scene.banner, 30, ENDED, center=band.center)
        x = max(text_x, box.right + MARGIN) if not self.frame_size else box.right + MARGIN
        y = top
        for text in [*self.scene.lines, "", *self.guide.legend]:
            for part in wrap(text, self._font(22), width - x - MARGIN):
                y = self._text(part, 22, FG, topleft=(x, y)).bottom
        y = max(y, box.bottom) + 10
        for text in controls:
            y = self._text(text, 22, DIM, topleft=(MARGIN, y)).bottom
        done, planned = self.source.progress()
        pace = ("turn by turn" if self.source.step_seconds is None
                else f"{1 / self.source.step_seconds:.3g} steps/s")
        self._text(f"{self.annotator}: {done} of {planned} demonstrations recorded   {pace}",
                   22, FG, topleft=(MARGIN, y))
        if self._window is not None:
            self._window.blit(canvas, (0, 0))
            pygame.display.flip()

    def _controls_lines(self, width: int) -> list[str]:
        keys_by_use: dict[str, list[str]] = {}
        for key, use in self.source.controls.items():
            keys_by_use.setdefault(use.rstrip("0123456789 "), []).append(key)
        controls = "   ".join(f"{'/'.join(keys)}: {use}" for use, keys in keys_by_use.items())
        return wrap(f"{controls}   q / esc: quit", self._font(22), width, separator="   ")
