"""Child process for the kill test: a real labeling session in a real (headless) viewer.

Answer keys are posted by a thread, as a person's key presses would arrive; what each
answer was about (the query id; in --mode rate the clip's segment id) is printed once
``answer`` has returned, i.e. once it is acknowledged.
"""

import os
import random
import sys
import threading
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from feedback.ui.viewer import Viewer  # noqa: E402
from rlhf_envs.compare import open_session, parser  # noqa: E402

args = parser().parse_args(sys.argv[1:])
session = open_session(args)
answer = session.answer


def acknowledged(key, choice, seconds, **flags):
    answer(key, choice, seconds, **flags)
    print(session._keys[key] if args.mode == "rate" else key, flush=True)


session.answer = acknowledged
pygame.display.init()


def press_keys() -> None:
    rng = random.Random()
    keys = [pygame.K_LEFT, pygame.K_RIGHT, pygame.K_DOWN, pygame.K_s, pygame.K_1, pygame.K_5]
    while True:
        time.sleep(0.03)
        try:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=rng.choice(keys), mod=0,
                                                 unicode="", scancode=0))
        except pygame.error:  # the viewer has closed its window: the session is over
            return


threading.Thread(target=press_keys, daemon=True).start()
Viewer(session, annotator=args.annotator, fps=60, end_seconds=0).run()
