"""How the viewer draws its window: clips, timeline, text, flashes, the end screen.

The drawing half of :class:`feedback.ui.viewer.Viewer` (which holds the state and reads
the input); text surfaces are cached, and each clip frame is scaled once per layout.
"""

from __future__ import annotations

import os
import time

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from feedback.ui.layout import MARGIN, wrap  # noqa: E402
from feedback.ui.pairs import status_of  # noqa: E402
from feedback.ui.viewer_text import BUTTONS, status_line  # noqa: E402

BG, FG, DIM, BOX = (28, 28, 32), (235, 235, 235), (160, 160, 170), (90, 90, 100)
OK, WARN, ENDED = (70, 170, 90), (200, 70, 60), (230, 170, 60)
TEXT_CACHE = 512  # rendered lines kept
END_GRACE_SECONDS = 1.0  # keys this soon after the end screen shows do not close it


class ViewerCanvas:
    """Drawing for :class:`~feedback.ui.viewer.Viewer` (its state is the viewer's)."""

    def _font(self, size: int) -> pygame.font.Font:
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    # -- drawing --------------------------------------------------------------------------------

    def _frame_surface(self, side: int, index: int) -> pygame.Surface:
        """Frame ``index`` of clip ``side`` scaled to the clip box (converted once, cached)."""
        cached = self._cache[side][index]
        if cached is None:
            assert self.pair is not None
            frames = self.pair.left if side == 0 or self.pair.right is None else self.pair.right
            raw = pygame.surfarray.make_surface(np.ascontiguousarray(frames[index]).swapaxes(0, 1))
            size = self.layout.clip_a.size
            if self._page_height:
                size = (size[0], self._page_height)
            smooth = size[0] < raw.get_width() or self.guide.smooth  # see the module's docstring
            cached = (pygame.transform.smoothscale if smooth else pygame.transform.scale)(raw, size)
            self._cache[side][index] = cached
        return cached

    def _text(self, text: str, points: int, color, **where) -> pygame.Rect:
        """Draw one line of text placed by a pygame.Rect keyword (e.g. center=(x, y))."""
        size = round(points * self.layout.scale)
        key = (text, size, color)
        surface = self._texts.get(key)
        if surface is None:
            if len(self._texts) > TEXT_CACHE:
                self._texts.clear()
            surface = self._texts[key] = self._font(size).render(text, True, color)
        rect = surface.get_rect(**where)
        self._canvas.blit(surface, rect)
        return rect

    def _draw(self) -> None:
        """Draw the whole window onto the canvas, then show it."""
        lay, canvas = self.layout, self._canvas
        width, line = lay.size[0], self._font(round(20 * lay.scale)).get_linesize()
        canvas.fill(BG)
        prompt = self.pair.prompt if self.pair is not None else ""
        y = self._text(prompt, 30, FG, midtop=(width // 2, MARGIN)).bottom + 4
        for task in lay.task_lines:
            y = self._text(task, 24, ENDED, midtop=(width // 2, y)).bottom
        names = ("A", "B") if len(lay.clips) == 2 else ("",)
        for rect, label in zip(lay.clips, names):
            self._text(label, 30, FG, midbottom=(rect.centerx, rect.top - 6))
            pygame.draw.rect(canvas, BOX, rect.inflate(4, 4), 2)
        if self.pair is None:
            doing = status_of(self.source) or "preparing the next pair..."
            middle = ((lay.clip_a.centerx + lay.clip_b.centerx) // 2, lay.clip_a.centery)
            self._text(doing, 30, DIM, center=middle)
        else:
            self.frame = int(self._pos) % len(self.pair.left)
            for side, rect in enumerate(lay.clips):
                window = pygame.Rect(0, self._scroll, rect.width, rect.height)
                canvas.blit(self._frame_surface(side, self.frame), rect, area=window)
                end = self.pair.end_of(side)
                if end is not None and self.frame >= end:
                    band = pygame.Rect(rect.left, rect.bottom - 2 * line, rect.width, 2 * line)
                    canvas.fill((60, 40, 20), band)
                    self._text(self.guide.ended, 24, ENDED, center=band.center)
            self._draw_timeline()
            if self.flagged:
                pygame.draw.rect(canvas, WARN, lay.clip_a.union(lay.clip_b).inflate(10, 10), 3)
        for action, rect in lay.buttons.items():
            on = action == "flag" and self.flagged
            pygame.draw.rect(canvas, WARN if on else BOX, rect, border_radius=6)
            self._text(BUTTONS.get(action, action), 24, FG, center=rect.center)
        y = lay.text_top
        for text in lay.legend_lines:
            y = self._text(text, 20, FG, midtop=(width // 2, y)).bottom
        for text in lay.help_lines:
            y = self._text(text, 20, DIM, midtop=(width // 2, y)).bottom
        status = status_line(self.annotator, self._tally, self.seconds, self.speed, self.fps)
        small = self._font(round(20 * lay.scale))
        for text in wrap(status, small, width - 2 * MARGIN, separator="   ")[:2]:
            y = self._text(text, 20, FG, midtop=(width // 2, y)).bottom
        self._draw_overlays()
        if self._window is not None:
            self._window.blit(canvas, (0, 0))
            pygame.display.flip()
        self._drawn = self.pair is not None

    def _draw_timeline(self) -> None:
        """A bar under the clips: where playback is, where an episode ended, the frame."""
        bar, length = self.layout.timeline, len(self.pair.left)
        pygame.draw.rect(self._canvas, BOX, bar, border_radius=4)
        done = bar.copy()
        done.width = round(bar.width * (self.frame + 1) / length)
        pygame.draw.rect(self._canvas, DIM, done, border_radius=4)
        for side in range(2 if self.pair.right is not None else 1):
            end = self.pair.end_of(side)
            if end is not None:
                x = bar.left + round(bar.width * end / length)
                pygame.draw.line(self._canvas, ENDED, (x, bar.top), (x, bar.bottom - 1), 3)
        state = "paused (P: play, , / .: frame)" if self.paused else "P: pause"
        self._text(f"frame {self.frame + 1} / {length}   {state}", 20, FG, center=bar.center)

    def _draw_overlays(self) -> None:
        """The flash confirming an answer or undo, and the note being typed."""
        lay, width = self.layout, self.layout.size[0]
        text, color, until = self._flash
        if text and time.monotonic() < until:
            rect = self._text(text, 24, FG, midtop=(width // 2, lay.clip_a.top + 8))
            self._canvas.fill(color, rect.inflate(24, 10))
            self._text(text, 24, FG, midtop=(width // 2, lay.clip_a.top + 8))
        if self.note_entry is not None:
            box = pygame.Rect(MARGIN, lay.timeline.top, width - 2 * MARGIN,
                              lay.text_top - lay.timeline.top)
            self._canvas.fill((45, 45, 60), box)
            shown = f"Note: {self.note_entry}_"
            font = self._font(round(24 * lay.scale))
            while font.size(shown)[0] > box.width - 2 * MARGIN and len(shown) > 8:
                shown = "Note: ..." + shown[10:]  # the end of a long note stays in view
            self._text(shown, 24, FG, midleft=(box.left + MARGIN, box.centery - 10))
            self._text("Enter: keep the note   Esc: cancel   (stored with your answer)", 20,
                       DIM, midleft=(box.left + MARGIN, box.centery + 14))

    def _end_screen(self, seconds: float) -> None:
        """The session's summary, until a key or ``seconds`` pass."""
        end_screen(self, seconds)


def end_screen(front, seconds: float) -> None:
    """Show ``front.summary()`` until a key or click (after a second) or ``seconds`` pass.

    ``front`` is a viewer or demo player: it draws with ``_text`` on ``_canvas``, shows it
    in ``_window`` and lays out again with ``_resize``. Keys in the first
    ``END_GRACE_SECONDS`` belong to the session's last moment and do not close it.
    """
    shown = time.monotonic()
    deadline, clock = shown + seconds, pygame.time.Clock()
    pygame.event.clear()
    while time.monotonic() < deadline:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                return
            late = time.monotonic() - shown > END_GRACE_SECONDS
            if late and event.type in (pygame.KEYDOWN, pygame.MOUSEBUTTONDOWN):
                return
            if event.type == pygame.VIDEORESIZE:
                front._resize((event.w, event.h))
        front._canvas.fill(BG)
        width, height = front._canvas.get_size()
        y = front._text("Session over", 30, FG, midtop=(width // 2, height // 3)).bottom + 12
        for text in front.summary():
            y = front._text(text, 24, FG, midtop=(width // 2, y)).bottom + 4
        left = max(0, round(deadline - time.monotonic()))
        front._text(f"Any key closes the window (it closes by itself in {left} s)", 20, DIM,
                    midtop=(width // 2, y + 16))
        if front._window is not None:
            front._window.blit(front._canvas, (0, 0))
            pygame.display.flip()
        clock.tick(20)
