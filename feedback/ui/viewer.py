"""Clip viewer (pygame): people answer which of two clips is better, or rate one clip 1-5.

The viewer only draws the frames and text it is handed and passes answers on; where pairs
come from, and where answers go, is the caller's :class:`PairSource`. Every answer goes to
``source.answer`` (durable when it returns) before the next pair is asked for, so quitting
at any time loses nothing.

Frames taller than wide are pages (text segments, :mod:`feedback.ui.text_pages`): shown
at the clip width and scrolled with Page Up / Page Down or the mouse wheel, both sides
together.

An answer applies only to a pair that has been on screen: key presses and clicks that
arrive before the next pair is drawn wait one frame, and those made while "loading..." is
shown are dropped, so a fast double press never answers a pair nobody saw.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from feedback.answers import ANSWERS, RATINGS  # noqa: E402

KEY_HELP = ("← / A: A better   → / D: B better   ↓ / =: equal   S: skip   Space: replay   "
            "U: undo   + / -: speed   Q / Esc: quit")
RATE_HELP = ("1-5: rate (5 = best)   S: skip   Space: replay   U: undo   + / -: speed   "
             "Q / Esc: quit")
# pygame's default font has no arrow glyphs, so the help line names the keys in words.
_SHOWN_HELP = KEY_HELP.replace("←", "Left").replace("→", "Right").replace("↓", "Down")
PROMPTS = ("Which clip is better?", "How good is this clip? (1 = bad, 5 = very good)")
PAGE_PROMPTS = ("Which completion is better? (PgUp / PgDn: scroll)",
                "How good is this completion? (1-5; PgUp / PgDn: scroll)")
SCROLL_STEP = 0.8  # of the visible height, per Page Up / Page Down
MARGIN, LOOP_HZ, SPEEDS = 16, 60, (0.25, 4.0)
BG, FG, DIM, BOX = (28, 28, 32), (235, 235, 235), (160, 160, 170), (90, 90, 100)


@dataclass
class Pair:
    """A question for the person: two clips to compare, or one clip (``right`` None) to rate."""

    key: int                      # the caller's id of this question (e.g. a store query id)
    left: np.ndarray              # frames (T, H, W, 3) uint8, clip A (or the clip to rate)
    right: np.ndarray | None = None  # frames of clip B (same T, H, W); None: rate ``left``
    prompt: str | None = None     # None: the default question of its kind (PROMPTS)

    @property
    def answers(self) -> tuple[str, ...]:
        """What the person may answer: ANSWERS to a pair, RATINGS or "skip" to one clip."""
        return (*RATINGS, "skip") if self.right is None else ANSWERS


class PairSource(Protocol):
    """Where pairs come from and answers go.

    The pair shown when ``undo`` is called is expected to come again from ``next_pair``
    later (the viewer does not keep it).
    """

    def next_pair(self, timeout: float) -> Pair | None | Literal["wait"]:
        """The next pair, None when the session is over, "wait" if not ready within timeout."""

    def answer(self, key: int, answer: str, seconds: float) -> None:
        """Record an answer (one of ``pair.answers``); durable when it returns."""

    def undo(self) -> Pair | None:
        """Take back the last answer; returns that pair to show again (None if nothing to undo)."""

    def progress(self) -> tuple[int, int]:
        """(answered, planned)."""


@dataclass
class Layout:
    """Window geometry in window pixels; tests click inside these rects."""

    size: tuple[int, int]
    clips: list[pygame.Rect]          # two to compare, one to rate
    buttons: dict[str, pygame.Rect]   # action -> its button
    help_lines: list[str]

    @property
    def clip_a(self) -> pygame.Rect:
        """The box of clip A (the left one, or the only one when rating)."""
        return self.clips[0]

    @property
    def clip_b(self) -> pygame.Rect:
        """The box of clip B (the right one; when rating, the same box as A)."""
        return self.clips[-1]

    @property
    def equal(self) -> pygame.Rect:
        """The "Equal" button (a compare layout's only)."""
        return self.buttons["equal"]

    @property
    def skip(self) -> pygame.Rect:
        """The "Skip" button."""
        return self.buttons["skip"]

    @property
    def undo(self) -> pygame.Rect:
        """The "Undo" button."""
        return self.buttons["undo"]


_BUTTONS = {"equal": "Equal (Down)", "skip": "Skip (S)", "undo": "Undo (U)"}


def _make_layout(box: tuple[int, int], clip_size: int, font: pygame.font.Font,
                 rate: bool = False) -> Layout:
    """Place prompt, labels, clips (each ``box`` = (w, h)), buttons and text lines."""
    width = max(2 * clip_size + 3 * MARGIN, 600)
    y = MARGIN + 34 + 30                                   # prompt, then the "A" / "B" labels
    clip_a = pygame.Rect(0, y, *box)
    clip_a.centerx = width // 4 + MARGIN // 4              # centred in the left half
    clip_b = clip_a.copy()
    clip_b.centerx = width - clip_a.centerx
    if rate:
        clip_a.centerx = width // 2
    y = clip_a.bottom + 14
    actions = [*RATINGS, "skip", "undo"] if rate else list(_BUTTONS)
    widths = [48 if action in RATINGS else 130 for action in actions]
    x = (width - sum(widths) - 16 * (len(widths) - 1)) // 2
    buttons = {}
    for action, button_width in zip(actions, widths):
        buttons[action] = pygame.Rect(x, y, button_width, 32)
        x += button_width + 16
    lines: list[str] = []
    for item in (RATE_HELP if rate else _SHOWN_HELP).split("   "):
        if lines and font.size(lines[-1] + "   " + item)[0] <= width - 2 * MARGIN:
            lines[-1] += "   " + item
        else:
            lines.append(item)
    height = y + 32 + 14 + 22 * (len(lines) + 1) + MARGIN
    return Layout((width, height), [clip_a] if rate else [clip_a, clip_b], buttons, lines)


class Viewer:
    """Shows pairs from ``source`` side by side and hands the answers back to it."""

    def __init__(self, source: PairSource, *, annotator: str, fps: int = 30,
                 clip_size: int = 320, title: str = "rlhf-envs: compare") -> None:
        self.source, self.annotator, self.fps, self.title = source, annotator, fps, title
        self.clip_size = clip_size
        self.speed = 1.0
        self.pair: Pair | None = None        # the pair on screen (None while loading)
        self.frame = 0                       # frame index shown on both sides
        self.answers = 0                     # answers given over all runs (undone ones count)
        pygame.font.init()
        self._fonts = {size: pygame.font.Font(None, size) for size in (20, 24, 30)}
        self.layout = _make_layout((clip_size, clip_size), clip_size, self._fonts[20])
        self._canvas = pygame.Surface(self.layout.size)
        self._window: pygame.Surface | None = None
        self._pending: list[pygame.event.Event] = []
        self._cache: list[list[pygame.Surface | None]] = [[], []]
        self._pos, self._drawn, self._shown_at = 0.0, False, 0.0
        self._page_height = 0                # a page's scaled height; 0 for clips
        self._scroll = 0                     # pixels of a page scrolled past
        self._progress = (0, 0)
        self._session_seconds, self._run_start = 0.0, time.monotonic()
        self._canvas.fill(BG)

    def run(self, max_seconds: float | None = None) -> int:
        """Show pairs until the source is done, the user quits, or ``max_seconds`` pass.

        Returns the number of answers given in this call (undone answers included).
        """
        start = self._run_start = time.monotonic()
        given = self.answers
        pygame.display.init()
        self._window = pygame.display.set_mode(self.layout.size)
        pygame.display.set_caption(self.title)
        clock = pygame.time.Clock()
        try:
            while max_seconds is None or time.monotonic() - start < max_seconds:
                if self.pair is None and not self._fetch():
                    break
                self._pending.extend(pygame.event.get())
                if self._handle_events():
                    break
                self._pos += clock.tick(LOOP_HZ) / 1000 * self.fps * self.speed
                self._draw()
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

    # -- pairs -------------------------------------------------------------------------------

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
                         pair.prompt or (PAGE_PROMPTS if page else PROMPTS)[rate])
        scale = self.clip_size / (width if page else max(height, width))
        box = (max(1, round(width * scale)), max(1, round(height * scale)))
        self._page_height, self._scroll = (box[1], 0) if page else (0, 0)
        if page:
            box = (box[0], box[0])  # a square window onto the page
        if box != self.layout.clip_a.size or rate != (len(self.layout.clips) == 1):
            self.layout = _make_layout(box, self.clip_size, self._fonts[20], rate)
            self._canvas = pygame.Surface(self.layout.size)
            if self._window is not None:
                self._window = pygame.display.set_mode(self.layout.size)
        self._cache = [[None] * len(left), [None] * len(left)]
        self._pos, self._drawn, self._shown_at = 0.0, False, time.monotonic()
        self.frame = 0
        self._progress = self.source.progress()

    def _answer(self, answer: str) -> None:
        """Commit an answer for the pair on screen, then move on to the next pair."""
        assert self.pair is not None
        self.source.answer(self.pair.key, answer, time.monotonic() - self._shown_at)
        self.answers += 1
        self.pair = None
        self._progress = self.source.progress()
        self._fetch()            # an instantly ready pair is shown without a "loading" flash

    # -- input -------------------------------------------------------------------------------

    def _action(self, event: pygame.event.Event) -> str | None:
        """What an event asks for: an answer, or a command ('undo', 'scroll up', ...)."""
        if event.type == pygame.QUIT:
            return "quit"
        rate = len(self.layout.clips) == 1
        if event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1:
            lay = self.layout
            targets = [] if rate else [(lay.clip_a, "left"), (lay.clip_b, "right")]
            for rect, action in targets + [(r, a) for a, r in lay.buttons.items()]:
                if rect.collidepoint(event.pos):
                    return action
            return None
        if event.type == pygame.MOUSEWHEEL and event.y:
            return "scroll up" if event.y > 0 else "scroll down"
        if event.type != pygame.KEYDOWN:
            return None
        key, text = event.key, getattr(event, "unicode", "")
        shift = getattr(event, "mod", 0) & pygame.KMOD_SHIFT
        if text == "+" or key in (pygame.K_PLUS, pygame.K_KP_PLUS) or (
                key == pygame.K_EQUALS and shift):
            return "faster"
        keys = {pygame.K_s: "skip", pygame.K_SPACE: "replay", pygame.K_u: "undo",
                pygame.K_PAGEUP: "scroll up", pygame.K_PAGEDOWN: "scroll down",
                pygame.K_MINUS: "slower", pygame.K_KP_MINUS: "slower", pygame.K_q: "quit",
                pygame.K_ESCAPE: "quit"}
        if rate:
            for k, rating in enumerate(RATINGS):
                keys[pygame.K_1 + k] = keys[pygame.K_KP1 + k] = rating
        else:
            keys |= {pygame.K_LEFT: "left", pygame.K_a: "left", pygame.K_RIGHT: "right",
                     pygame.K_d: "right", pygame.K_DOWN: "equal", pygame.K_EQUALS: "equal",
                     pygame.K_KP_EQUALS: "equal"}
        return keys.get(key)

    def _handle_events(self) -> bool:
        """Act on pending events in order; True to quit. Answers wait for a drawn pair."""
        while self._pending:
            action = self._action(self._pending[0])
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
                self._progress = self.source.progress()
            elif action == "replay":
                self._pos, self.frame = 0.0, 0
            elif action in ("scroll up", "scroll down"):
                step = round(SCROLL_STEP * self.layout.clip_a.height)
                most = max(0, self._page_height - self.layout.clip_a.height)
                self._scroll += step if action == "scroll down" else -step
                self._scroll = min(most, max(0, self._scroll))
            elif action in ("faster", "slower"):
                factor = 2.0 if action == "faster" else 0.5
                self.speed = min(SPEEDS[1], max(SPEEDS[0], self.speed * factor))
        return False

    # -- drawing -----------------------------------------------------------------------------

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
            shrink = size[0] < raw.get_width()
            cached = (pygame.transform.smoothscale if shrink else pygame.transform.scale)(raw, size)
            self._cache[side][index] = cached
        return cached

    def _text(self, text: str, size: int, color, **where) -> None:
        """Draw one line of text placed by a pygame.Rect keyword (e.g. center=(x, y))."""
        surface = self._fonts[size].render(text, True, color)
        self._canvas.blit(surface, surface.get_rect(**where))

    def _draw(self) -> None:
        """Draw the whole window onto the canvas, then show it."""
        lay, canvas = self.layout, self._canvas
        width = lay.size[0]
        canvas.fill(BG)
        prompt = self.pair.prompt if self.pair is not None else ""
        self._text(prompt, 30, FG, center=(width // 2, MARGIN + 14))
        names = ("A", "B") if len(lay.clips) == 2 else ("",)
        for rect, label in zip(lay.clips, names):
            self._text(label, 30, FG, midbottom=(rect.centerx, rect.top - 6))
            pygame.draw.rect(canvas, BOX, rect.inflate(4, 4), 2)
        if self.pair is None:
            self._text("loading...", 30, DIM, center=((lay.clip_a.centerx + lay.clip_b.centerx)
                                                      // 2, lay.clip_a.centery))
        else:
            self.frame = int(self._pos) % len(self.pair.left)
            for side, rect in enumerate(lay.clips):
                window = pygame.Rect(0, self._scroll, rect.width, rect.height)
                canvas.blit(self._frame_surface(side, self.frame), rect, area=window)
        for action, rect in lay.buttons.items():
            pygame.draw.rect(canvas, BOX, rect, border_radius=6)
            self._text(_BUTTONS.get(action, action), 24, FG, center=rect.center)
        y = lay.skip.bottom + 14
        for line in lay.help_lines:
            self._text(line, 20, DIM, midtop=(width // 2, y))
            y += 22
        seconds = self._session_seconds + time.monotonic() - self._run_start
        rate = 60 * self.answers / max(seconds, 1e-9)
        status = (f"annotator: {self.annotator}   answered {self._progress[0]} / "
                  f"{self._progress[1]}   {rate:.1f} answers/min   speed x{self.speed:g}")
        self._text(status, 20, FG, midtop=(width // 2, y))
        if self._window is not None:
            self._window.blit(canvas, (0, 0))
            pygame.display.flip()
        self._drawn = self.pair is not None
