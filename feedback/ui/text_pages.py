"""Text segments drawn as pages: the prompt, then the completion, wrapped to the width.

A page is one frame taller than wide when the text is long; the viewer shows pages at
full width and scrolls them (Page Up / Page Down, the mouse wheel). Characters the font
cannot draw (control characters) are shown as ``·``.
"""

from __future__ import annotations

import os
import threading

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402
import pygame.surfarray  # noqa: E402  (loaded here, not first in a drawing thread)

from feedback.segments import Segment  # noqa: E402
from feedback.text import segment_text  # noqa: E402
from feedback.ui.layout import wrap  # noqa: E402

PAGE_WIDTH = 320  # the viewer's clip width: pages are drawn at the size they are shown
PAGE_BG, PROMPT_FG, TEXT_FG, RULE = (245, 245, 240), (90, 90, 110), (20, 20, 20), (190, 190, 190)
PAD, FONT_SIZE = 10, 22
_DRAWING = threading.Lock()  # SDL_ttf is not thread-safe: one page is drawn at a time


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() or c == "\n" else "·" for c in text)


class TextRenderer:
    """Draws a text segment as one page ``(1, H, W, 3)``, at least as tall as wide.

    :param width: the page width in pixels
    """

    def __init__(self, width: int = PAGE_WIDTH) -> None:
        self.width = width
        with _DRAWING:
            pygame.font.init()
            self._font = pygame.font.Font(None, FONT_SIZE)

    def frames(self, segment: Segment) -> np.ndarray:
        """The page of ``segment``'s prompt and completion."""
        with _DRAWING:
            return self._page(*segment_text(segment))

    def _page(self, prompt: str, completion: str) -> np.ndarray:
        inner = self.width - 2 * PAD
        parts = [(line, PROMPT_FG) for line in wrap(_printable(prompt), self._font, inner)]
        parts.append((None, RULE))
        parts += [(line, TEXT_FG) for line in wrap(_printable(completion), self._font, inner)]
        step = self._font.get_linesize()
        height = max(self.width, 2 * PAD + step * len(parts))
        page = pygame.Surface((self.width, height))
        page.fill(PAGE_BG)
        y = PAD
        for line, color in parts:
            if line is None:  # the rule between prompt and completion
                pygame.draw.line(page, color, (PAD, y + step // 2), (self.width - PAD,
                                                                      y + step // 2))
            elif line:
                page.blit(self._font.render(line, True, color), (PAD, y))
            y += step
        return pygame.surfarray.array3d(page).swapaxes(0, 1)[None].copy()

    def close(self) -> None:
        """Nothing to free (fonts live as long as pygame)."""


def same_height(pages: list[np.ndarray]) -> list[np.ndarray]:
    """Pages padded at the bottom (with their last row) to the tallest one's height."""
    height = max(p.shape[1] for p in pages)
    return [np.concatenate([p, np.repeat(p[:, -1:], height - p.shape[1], axis=1)], axis=1)
            if p.shape[1] < height else p for p in pages]
