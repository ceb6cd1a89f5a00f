"""Where things go in a labeling window of any size: text wrapped, clips as large as fit.

Pure geometry on pygame Rects and fonts (no window): the viewer lays its window out again
whenever the window or the clips' shape changes, so clips fill a resized window and no
line of text runs off its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pygame

MARGIN = 16
DEFAULT_WINDOW = (1632, 918)  # 85% of a 1080p screen, where the desktop size is unknown
MIN_WINDOW = (640, 480)
SCREEN_SHARE = 0.85           # of the desktop a new window takes
BUTTON_HEIGHT, TIMELINE_HEIGHT = 32, 18


def default_window_size() -> tuple[int, int]:
    """A window that fills most of the (first) screen, but never more than it.

    ``pygame.display.get_desktop_sizes`` (pygame 2) gives the screen; without it (or
    with no screen yet) the window is sized for 1080p, capped at 85%.
    """
    try:
        sizes = pygame.display.get_desktop_sizes()
    except (AttributeError, pygame.error):
        sizes = []
    width, height = sizes[0] if sizes else (1920, 1080)
    if width <= 0 or height <= 0:  # some dummy drivers report nothing useful
        width, height = 1920, 1080
    return (max(MIN_WINDOW[0], min(round(width * SCREEN_SHARE), DEFAULT_WINDOW[0])),
            max(MIN_WINDOW[1], min(round(height * SCREEN_SHARE), DEFAULT_WINDOW[1])))


def wrap(text: str, font: pygame.font.Font, width: int, separator: str = " ") -> list[str]:
    """``text`` in lines no wider than ``width`` pixels, broken at ``separator``.

    A single word wider than ``width`` is cut by characters, so nothing runs off.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(separator):
            trial = f"{current}{separator}{word}" if current else word
            if font.size(trial)[0] <= width:
                current = trial
                continue
            if current:
                lines.append(current)
            while font.size(word)[0] > width and len(word) > 1:  # cut a long word
                cut = max(1, len(word) * width // max(font.size(word)[0], 1))
                while cut > 1 and font.size(word[:cut])[0] > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return lines


@dataclass
class Layout:
    """Window geometry in window pixels; tests click inside these rects."""

    size: tuple[int, int]
    clips: list[pygame.Rect]          # two to compare, one to rate
    buttons: dict[str, pygame.Rect]   # action -> its button
    help_lines: list[str]
    task_lines: list[str] = field(default_factory=list)
    legend_lines: list[str] = field(default_factory=list)
    timeline: pygame.Rect = field(default_factory=lambda: pygame.Rect(0, 0, 0, 0))
    text_top: int = 0                 # where the lines under the buttons start
    scale: float = 1.0                # of the fonts (larger windows, larger text)

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


@dataclass
class Texts:
    """The text a layout makes room for (task, legend and key help are wrapped)."""

    task: str = ""
    legend: list[str] = field(default_factory=list)
    help: str = ""
    status_lines: int = 2             # room kept for the status line(s)


def font_scale(size: tuple[int, int]) -> float:
    """Text grows with the window, from 1x at 720 pixels high to 1.5x."""
    return min(1.5, max(1.0, size[1] / 720))


def make_layout(size: tuple[int, int] | None, frame: tuple[int, int], fonts, texts: Texts, *,
                actions: dict[str, int], rate: bool = False, page: bool = False,
                clip_size: int | None = None) -> Layout:
    """Lay out prompt, task, clips, timeline, buttons, legend and help in a window.

    :param size: the window's size, or None to fit the window around ``clip_size`` clips
    :param frame: a clip's frame size (width, height) in its own pixels
    :param fonts: ``fonts(points) -> pygame.font.Font``
    :param texts: the task line, legend lines and key help to wrap into the window
    :param actions: button action -> button width (before scaling)
    :param rate: one clip (rating) instead of two side by side
    :param page: a text page: the box is a window onto a page as wide as the box
    :param clip_size: the largest clip box side; None: as large as the window allows
    """
    if size is None:  # a window around clips of clip_size
        side = clip_size or 320
        width = max(2 * side + 3 * MARGIN, 600) if not rate else max(side + 2 * MARGIN, 600)
        size = (width, 10_000)
    width, height = size
    scale = font_scale(size) if clip_size is None else 1.0
    small, normal, large = (fonts(round(points * scale)) for points in (20, 24, 30))
    inner = width - 2 * MARGIN
    task = wrap(texts.task, normal, inner) if texts.task else []
    legend = [line for item in texts.legend for line in wrap(item, small, inner)]
    help_lines = wrap(texts.help, small, inner, separator="   ")
    line = small.get_linesize()
    top = MARGIN + large.get_linesize() + 4 + len(task) * normal.get_linesize()
    top += large.get_linesize() + 4                        # the "A" / "B" labels
    button_height = round(BUTTON_HEIGHT * scale)
    below = (8 + round(TIMELINE_HEIGHT * scale) + 10 + button_height + 12
             + line * (len(legend) + len(help_lines) + texts.status_lines) + MARGIN)
    columns = 1 if rate else 2
    box_width = max(16, (inner - (columns - 1) * MARGIN) // columns)
    box_height = max(16, height - top - below)
    if clip_size is not None:
        box_width, box_height = min(box_width, clip_size), min(box_height, clip_size)
    frame_width, frame_height = max(1, frame[0]), max(1, frame[1])
    if page:  # as wide as allowed, a square window onto the page's top
        box = (box_width, min(box_height, box_width))
    else:
        fit = min(box_width / frame_width, box_height / frame_height)
        box = (max(1, round(frame_width * fit)), max(1, round(frame_height * fit)))
    clips = []
    for column in range(columns):
        rect = pygame.Rect((0, top), box)
        rect.centerx = width // 2 if rate else (width // 4 + MARGIN // 4 if column == 0
                                                 else width - (width // 4 + MARGIN // 4))
        clips.append(rect)
    y = clips[0].bottom + 8
    timeline = pygame.Rect(clips[0].left, y, clips[-1].right - clips[0].left,
                           round(TIMELINE_HEIGHT * scale))
    y = timeline.bottom + 10
    widths = [round(w * scale) for w in actions.values()]
    x = (width - sum(widths) - MARGIN * (len(widths) - 1)) // 2
    buttons = {}
    for action, button_width in zip(actions, widths):
        buttons[action] = pygame.Rect(x, y, button_width, button_height)
        x += button_width + MARGIN
    text_top = y + button_height + 12
    if size[1] == 10_000:  # fitted around the clips: as tall as its content
        size = (width, text_top + line * (len(legend) + len(help_lines) + texts.status_lines)
                + MARGIN)
    return Layout(size, clips, buttons, help_lines, task, legend, timeline, text_top, scale)
