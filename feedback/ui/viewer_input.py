"""What a key press or click asks the viewer for: an answer or a command.

Answers are the words of :mod:`feedback.answers` (and the ratings "1"-"5"); commands are
``undo``, ``quit``, ``replay``, ``pause``, ``frame back``, ``frame on``, ``seek`` (a click
on the timeline), ``faster``, ``slower``, ``scroll up``, ``scroll down``, ``flag`` and
``note``. Keys are named in the key help of :mod:`feedback.ui.viewer_text`.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from feedback.answers import EQUAL, LEFT, RATINGS, RIGHT, SKIP  # noqa: E402
from feedback.ui.layout import Layout  # noqa: E402

_COMMON = {pygame.K_s: SKIP, pygame.K_SPACE: "replay", pygame.K_u: "undo",
           pygame.K_PAGEUP: "scroll up", pygame.K_PAGEDOWN: "scroll down",
           pygame.K_MINUS: "slower", pygame.K_KP_MINUS: "slower", pygame.K_q: "quit",
           pygame.K_ESCAPE: "quit", pygame.K_p: "pause", pygame.K_COMMA: "frame back",
           pygame.K_PERIOD: "frame on", pygame.K_f: "flag", pygame.K_n: "note"}
_COMPARE = {pygame.K_LEFT: LEFT, pygame.K_a: LEFT, pygame.K_RIGHT: RIGHT, pygame.K_d: RIGHT,
            pygame.K_DOWN: EQUAL, pygame.K_EQUALS: EQUAL, pygame.K_KP_EQUALS: EQUAL}
_RATE = {key: rating for k, rating in enumerate(RATINGS)
         for key in (pygame.K_1 + k, pygame.K_KP1 + k)}


def action_of(event: pygame.event.Event, layout: Layout, *, rate: bool) -> str | None:
    """The answer or command ``event`` asks for, or None.

    :param event: a pygame event
    :param layout: the window's layout (what a click lands on)
    :param rate: one clip is rated (number keys) rather than two compared
    """
    if event.type == pygame.QUIT:
        return "quit"
    if event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1:
        targets = [] if rate else [(layout.clip_a, LEFT), (layout.clip_b, RIGHT)]
        targets += [(rect, action) for action, rect in layout.buttons.items()]
        targets.append((layout.timeline, "seek"))
        for rect, action in targets:
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
    return (_COMMON | (_RATE if rate else _COMPARE)).get(key)
