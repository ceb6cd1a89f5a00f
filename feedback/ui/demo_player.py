"""Demonstration player (pygame): a person acts in an env with the keyboard.

Like :mod:`feedback.ui.viewer`, the player knows nothing of the domains: its
:class:`DemoSource` says which keys do what, turns a key into an action, steps the env
and stores what the person did; the player shows the :class:`Scene` it gets back and
passes keys on. Two paces:

- real time (``step_seconds`` set, e.g. driving): the env steps on a timer with the
  last control key pressed since the previous step, or the default action if none;
- turn by turn (``step_seconds`` None, e.g. recommendation): every key goes to the
  source at once, which steps when it has a whole action.

Q or Esc quits; what the source has stored stays stored.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from feedback.ui.viewer import BG, DIM, FG, LOOP_HZ, MARGIN  # noqa: E402

QUIT_KEYS = ("q", "escape")


@dataclass
class Scene:
    """What to show: the env's picture, a title, and lines of text beside it."""

    frame: np.ndarray                        # (H, W, 3) uint8
    title: str = ""
    lines: list[str] = field(default_factory=list)


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
    """Shows a :class:`DemoSource`'s scenes and hands it the person's keys."""

    def __init__(self, source: DemoSource, *, annotator: str, frame_size: int = 384,
                 title: str = "rlhf-envs: demonstrate") -> None:
        self.source, self.annotator, self.title = source, annotator, title
        self.frame_size = frame_size
        self.scene: Scene | None = None
        self.keys_used = 0
        pygame.font.init()
        self._font = pygame.font.Font(None, 22)
        self._big = pygame.font.Font(None, 30)
        self._size = (frame_size + 3 * MARGIN + 420, frame_size + 2 * MARGIN + 40 + 22 * 3)
        self._canvas = pygame.Surface(self._size)
        self._window: pygame.Surface | None = None

    def run(self, max_seconds: float | None = None) -> int:
        """Play until the source is done, the person quits or ``max_seconds`` pass.

        Returns how many demonstrations the source recorded meanwhile.
        """
        start = time.monotonic()
        before = self.source.progress()[0]
        pygame.display.init()
        self._window = pygame.display.set_mode(self._size)
        pygame.display.set_caption(self.title)
        clock = pygame.time.Clock()
        try:
            self.scene = self.scene or self.source.start()
            pending, last_step = None, time.monotonic()  # real time: the key for the next step
            while self.scene is not None and (
                    max_seconds is None or time.monotonic() - start < max_seconds):
                for key in self._keys():
                    if key in QUIT_KEYS:
                        return self.source.progress()[0] - before
                    if key in self.source.controls and self.scene is not None:
                        self.keys_used += 1
                        if self.source.step_seconds is None:
                            self.scene = self.source.act(key)
                        else:
                            pending = key
                step = self.source.step_seconds
                if self.scene is not None and step is not None and (
                        time.monotonic() - last_step >= step):
                    self.scene = self.source.act(pending)
                    pending, last_step = None, time.monotonic()
                if self.scene is not None:
                    self._draw()
                clock.tick(LOOP_HZ)
        finally:
            self._window = None
            pygame.display.quit()
        return self.source.progress()[0] - before

    def screenshot(self, path) -> None:
        """Save what the window shows (or showed last) as a PNG."""
        pygame.image.save(self._canvas, os.fspath(path))

    def _keys(self) -> list[str]:
        """Names of the keys pressed since the last call (and "escape" for closing)."""
        names = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                names.append("escape")
            elif event.type == pygame.KEYDOWN:
                names.append(pygame.key.name(event.key))
        return names

    def _text(self, text: str, font: pygame.font.Font, color, **where) -> None:
        surface = font.render(text, True, color)
        self._canvas.blit(surface, surface.get_rect(**where))

    def _draw(self) -> None:
        assert self.scene is not None
        canvas, size = self._canvas, self.frame_size
        canvas.fill(BG)
        self._text(self.scene.title, self._big, FG, topleft=(MARGIN, MARGIN))
        frame = np.ascontiguousarray(self.scene.frame)
        raw = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
        h, w = frame.shape[:2]
        scale = size / max(h, w)
        box = (max(1, round(w * scale)), max(1, round(h * scale)))
        canvas.blit(pygame.transform.scale(raw, box), (MARGIN, MARGIN + 40))
        x, y = 2 * MARGIN + size, MARGIN + 40
        for line in self.scene.lines:
            self._text(line, self._font, FG, topleft=(x, y))
            y += 22
        y = max(y, MARGIN + 40 + box[1]) + 14
        keys_by_use: dict[str, list[str]] = {}
        for key, use in self.source.controls.items():
            keys_by_use.setdefault(use.rstrip("0123456789 "), []).append(key)
        controls = "   ".join(f"{'/'.join(keys)}: {use}" for use, keys in keys_by_use.items())
        self._text(f"{controls}   q / esc: quit", self._font, DIM, topleft=(MARGIN, y))
        done, planned = self.source.progress()
        pace = ("turn by turn" if self.source.step_seconds is None
                else f"{1 / self.source.step_seconds:.3g} steps/s")
        self._text(f"annotator: {self.annotator}   demonstrations {done} / {planned}   {pace}",
                   self._font, FG, topleft=(MARGIN, y + 22))
        if self._window is not None:
            self._window.blit(canvas, (0, 0))
            pygame.display.flip()
