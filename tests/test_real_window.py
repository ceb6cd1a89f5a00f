"""Labeling sessions in a real window on a virtual X display (Xvfb), keys sent by xdotool.

Unlike the other viewer tests (SDL's dummy driver and posted events), this goes through
X11 as a person's keyboard would: Xvfb runs the display, ``python -m rlhf_envs.compare``
opens its window there, xdotool types on it (XTEST), and Pillow grabs the screen.
Skipped where Xvfb or xdotool is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from feedback.store import FeedbackStore

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")),
    reason="needs Xvfb and xdotool (apt-get install xvfb xdotool)")


@pytest.fixture
def display():
    """A fresh Xvfb display; yields its name (":N")."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24",
                               "-nolisten", "tcp"], pass_fds=[write], stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def xdotool(display: str, *args: str) -> str:
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display},
                          capture_output=True, text=True, timeout=30, check=True).stdout


def find_window(display: str) -> str:
    """The session's window, focused (keys go to it), or "" if it is not up.

    Looked up afresh each time: the viewer may re-create its window when its layout
    changes. (xdotool's --name search misses SDL's titles, so every window is listed.)
    """
    try:
        windows = xdotool(display, "search", "--onlyvisible", "--classname", ".").split()
        window = next(w for w in windows if "rlhf-envs" in xdotool(display, "getwindowname", w))
        xdotool(display, "windowfocus", "--sync", window)
        return window
    except (subprocess.CalledProcessError, StopIteration):  # not (or no longer) there
        return ""


def grab(display: str) -> np.ndarray:
    """The session window's pixels, as the X server shows them."""
    from PIL import ImageGrab

    deadline = time.monotonic() + 10
    window = find_window(display)
    while not window and time.monotonic() < deadline:  # being re-created
        time.sleep(0.1)
        window = find_window(display)
    geometry = dict(line.strip().split("=") for line in
                    xdotool(display, "getwindowgeometry", "--shell", window).splitlines())
    x, y, w, h = (int(geometry[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
    return np.asarray(ImageGrab.grab(bbox=(x, y, x + w, y + h), xdisplay=display))[..., :3]


def start_session(display: str, store: Path, *extra: str,
                  env_id: str = "Reacher-v0") -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    env |= {"DISPLAY": display, "MUJOCO_GL": "egl"}
    session = subprocess.Popen(
        [sys.executable, "-m", "rlhf_envs.compare", "--env", env_id, "--store", str(store),
         "--annotator", "ana", "--segment-length", "10", "--repeat-share", "0", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    window = ""
    deadline = time.monotonic() + 60
    while not window and time.monotonic() < deadline and session.poll() is None:
        time.sleep(0.2)
        window = find_window(display)
    assert window, f"no window: {session.communicate()}"
    return session, window


def wait_for_moving_clips(display: str) -> tuple[np.ndarray, np.ndarray]:
    """The last two of three screenshots of one size, each unlike the one before: clips playing.

    Two changes in a row, because one change can be the window's first drawing (its unpainted
    area, then "loading...") or the last frame of an answered pair, then "loading...": a key
    typed then would land on no pair and be dropped. "loading..." is still, so after two
    changes the screen shows a pair that the viewer has drawn.
    """
    deadline = time.monotonic() + 60
    shots = [grab(display)]
    while time.monotonic() < deadline:
        time.sleep(0.25)
        shots = [*shots[-2:], grab(display)]
        if len(shots) == 3 and len({s.shape for s in shots}) == 1 and all(
                np.any(a != b) for a, b in zip(shots, shots[1:])):
            return shots[1], shots[2]
    raise AssertionError("the window never played clips")


def answers_stored(store: Path, count: int, read) -> list:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with FeedbackStore(store) as s:
            got = read(s)
        if len(got) >= count:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{count} answers were not stored")


def test_keys_typed_on_a_real_window_become_labels(display, tmp_path):
    import imageio.v3 as iio

    store = tmp_path / "labels.db"
    session, _ = start_session(display, store, "--pairs", "3")
    first, later = wait_for_moving_clips(display)
    iio.imwrite(tmp_path / "real-window.png", later)
    height, width, _ = later.shape
    left, right = (slice(80, height // 2), slice(0, width // 2)), \
                  (slice(80, height // 2), slice(width // 2, width))
    assert np.any(first[left] != later[left]) and np.any(first[right] != later[right])
    assert later[:50].std() > 5                            # the prompt
    assert later[-30:].std() > 5                           # progress and annotator
    for k, key in enumerate(("Left", "d", "Down")):
        xdotool(display, "key", key)
        answers_stored(store, k + 1, lambda s: s.labels())
        if k < 2:
            wait_for_moving_clips(display)         # the next pair is up
    out, err = session.communicate(timeout=30)
    assert session.returncode == 0, err
    assert "3 answers stored" in out
    with FeedbackStore(store) as s:
        assert [(lab.answer, lab.annotator) for lab in s.labels()] == [
            ("left", "ana"), ("right", "ana"), ("equal", "ana")]


def test_ratings_typed_on_a_real_window_and_quit_keeps_them(display, tmp_path):
    store = tmp_path / "ratings.db"
    session, _ = start_session(display, store, "--pairs", "5", "--mode", "rate")
    wait_for_moving_clips(display)
    xdotool(display, "key", "4")
    answers_stored(store, 1, lambda s: s.ratings())
    wait_for_moving_clips(display)
    xdotool(display, "key", "KP_2")
    answers_stored(store, 2, lambda s: s.ratings())
    xdotool(display, "key", "Escape")
    out, err = session.communicate(timeout=30)
    assert session.returncode == 0, err
    assert "2 answers stored" in out and "(2/5 planned)" in out
    with FeedbackStore(store) as s:
        assert [r.rating for r in s.ratings()] == [4, 2]


def test_a_slate_demonstration_typed_on_a_real_window(display, tmp_path):
    store = tmp_path / "demos.db"
    session, _ = start_session(display, store, "--pairs", "1", "--mode", "demo",
                               "--segment-length", "2", env_id="SlateRec-v0")
    grab(display)  # the window is up
    for key in ("1", "2", "3", "0", "9", "8"):  # two slates of three
        xdotool(display, "key", key)
    out, err = session.communicate(timeout=30)
    assert session.returncode == 0, err
    assert "1 demonstration stored" in out
    with FeedbackStore(store) as s:
        [demo] = s.demonstrations()
        [segment] = s.get_segments([demo.segment_id])
    assert [list(np.argsort(-a)[:3]) for a in segment.acts] == [[0, 1, 2], [9, 8, 7]]
