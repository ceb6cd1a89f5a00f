"""Labeling text pairs: `compare --text` on a text run's store, pages that scroll (headless)."""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from feedback.store import FeedbackStore  # noqa: E402
from feedback.text import text_segment  # noqa: E402
from feedback.ui.text_pages import TextRenderer, same_height  # noqa: E402
from feedback.ui.viewer import Viewer  # noqa: E402
from rlhf_envs.compare import main, open_session, parser  # noqa: E402

LONG = " ".join(f"word{k}" for k in range(400))


def text_run(directory, pairs: int = 3):
    """A text run's store: completions of one prompt and ``pairs`` queries about them."""
    directory.mkdir()
    segments = [text_segment("Describe the sea.", c, s, task="sea", start=k)
                for k, (c, s) in enumerate([(LONG, 3), ("Blue.", 1), ("Waves and salt.", 2),
                                            ("Grüße 👋 \x07", 0)])]
    with FeedbackStore(directory / "feedback.db") as store:
        store.add_segments(segments)
        store.add_queries([(segments[k].id, segments[k + 1].id) for k in range(pairs)])
    return directory


@pytest.fixture(autouse=True)
def display():
    pygame.display.init()
    pygame.event.clear()
    yield
    pygame.display.quit()


def press(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="",
                                         scancode=0))


def test_pages_wrap_long_text_and_pad_to_one_height():
    renderer = TextRenderer(width=320)
    long_page, short_page = (renderer.frames(text_segment("p", c, 0, task="t"))
                             for c in (LONG, "short"))
    assert long_page.shape[0] == 1 and long_page.shape[2:] == (320, 3)
    assert long_page.shape[1] > 4 * 320 and short_page.shape[1] == 320   # wrapped, not cut
    a, b = same_height([long_page, short_page])
    assert a.shape == b.shape and np.array_equal(b[:, :320], short_page)


def test_text_pairs_are_answered_and_scrolled_with_the_keys(tmp_path):
    run = text_run(tmp_path / "run")
    session = open_session(parser().parse_args(["--text", str(run), "--annotator", "ana",
                                                "--pairs", "3", "--repeat-share", "0"]))
    viewer = Viewer(session, annotator="ana")
    shots = {}

    def user():
        time.sleep(0.6)
        shots["top"] = viewer._canvas.copy()
        press(pygame.K_PAGEDOWN)
        time.sleep(0.3)
        shots["scrolled"] = viewer._canvas.copy()
        for key in (pygame.K_LEFT, pygame.K_RIGHT, pygame.K_DOWN):
            press(key)
            time.sleep(0.4)

    thread = threading.Thread(target=user)
    thread.start()
    try:
        given = viewer.run(max_seconds=20)
    finally:
        thread.join()
        session.close()
        session.store.close()
    assert given == 3
    with FeedbackStore(run / "feedback.db") as store:
        assert [lab.answer for lab in store.labels()] == ["left", "right", "equal"]
    clip = viewer.layout.clip_a
    top, scrolled = (pygame.surfarray.array3d(shots[k]).swapaxes(0, 1)[clip.top:clip.bottom,
                                                                       clip.left:clip.right]
                     for k in ("top", "scrolled"))
    iio.imwrite(tmp_path / "text-page.png", pygame.surfarray.array3d(shots["top"])
                .swapaxes(0, 1))
    assert top.std() > 10 and not np.array_equal(top, scrolled)   # text, and it scrolled


def test_text_runs_refuse_env_options_and_demo_mode(tmp_path, capsys):
    run = text_run(tmp_path / "run")
    assert main(["--text", str(run), "--env", "Reacher-v0"]) == 2
    assert main(["--text", str(run), "--mode", "demo"]) == 2
    assert main(["--text", str(tmp_path / "nothing")]) == 2
    assert main(["--pairs", "3"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 4 and all(line.startswith("error: ") for line in errors)
    assert "give --env" in errors[-1]
