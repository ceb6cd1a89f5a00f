"""The screen a window opens on: pygame's display, without SDL's silent fallback.

When SDL cannot reach the screen it was given (``DISPLAY`` unset, its X server gone),
it does not fail: it falls back to its ``offscreen`` driver, and a labeling session
opens a window no one can see and waits for keys no one can press. So the viewers open
the display here, which refuses a driver that shows nothing unless ``SDL_VIDEODRIVER``
asked for it (as the tests do, and headless scripts may).
"""

from __future__ import annotations

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from feedback.errors import FeedbackError  # noqa: E402

HEADLESS_DRIVERS = ("offscreen", "dummy")  # SDL's drivers that draw into memory only


def open_display() -> None:
    """``pygame.display.init()``, refusing a driver that shows nothing.

    :raises FeedbackError: if SDL fell back to such a driver without ``SDL_VIDEODRIVER``
        asking for it
    """
    pygame.display.init()
    driver = pygame.display.get_driver()
    asked = [d.strip() for d in os.environ.get("SDL_VIDEODRIVER", "").split(",")]
    if driver in HEADLESS_DRIVERS and driver not in asked:
        pygame.display.quit()
        raise FeedbackError(
            f"no screen to show the window on: SDL could not open "
            f"DISPLAY={os.environ.get('DISPLAY', '(unset)')} and fell back to its "
            f"'{driver}' driver, which shows nothing; start an X server or set DISPLAY "
            f"(SDL_VIDEODRIVER={driver} runs without a screen on purpose)")
