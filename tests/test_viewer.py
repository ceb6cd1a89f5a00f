"""The comparison viewer, driven headless by posted pygame events and a fake PairSource."""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from feedback.ui.viewer import Pair, Viewer  # noqa: E402


def moving_square(color, start: int, frames: int = 20, size: int = 64) -> np.ndarray:
    """A square of ``color`` moving left to right across ``frames`` frames."""
    clip = np.full((frames, size, size, 3), 20, np.uint8)
    for t in range(frames):
        x = (start + 2 * t) % (size - 12)
        clip[t, 26:38, x:x + 12] = color
    return clip


def make_pair(key: int, height: int = 64, width: int = 64) -> Pair:
    left = moving_square((250, 60, 60), key)
    right = moving_square((60, 220, 60), 3 * key + 5)
    if (height, width) != (64, 64):
        left = np.resize(left, (20, height, width, 3))
        right = np.resize(right, (20, height, width, 3))
    return Pair(key, left, right, prompt=f"Question {key}: which clip is better?")


class FakeSource:
    """Hands out pairs in order; records answers; undo re-queues the pair that was shown."""

    def __init__(self, n: int, waits: int = 0, **shape) -> None:
        self.pairs = {k: make_pair(k, **shape) for k in range(n)}
        self.queue = list(range(n))
        self.answers: list[tuple[int, str, float]] = []
        self.calls: list[str] = []
        self.waits, self.current = waits, None
        self.flags: list[tuple[bool, str]] = []

    def next_pair(self, timeout: float):
        self.calls.append("next_pair")
        if self.waits:
            self.waits -= 1
            return "wait"
        if not self.queue:
            return None
        self.current = self.queue.pop(0)
        return self.pairs[self.current]

    def answer(self, key: int, answer: str, seconds: float, *, flagged: bool = False,
               note: str = "") -> None:
        self.calls.append("answer")
        assert key == self.current
        self.answers.append((key, answer, seconds))
        self.flags.append((flagged, note))
        self.current = None

    def undo(self):
        self.calls.append("undo")
        if not self.answers:
            return None
        if self.current is not None:
            self.queue.insert(0, self.current)
        self.current = self.answers.pop()[0]
        return self.pairs[self.current]

    def progress(self) -> tuple[int, int]:
        return len(self.answers), len(self.pairs)

    def given(self) -> list[tuple[int, str]]:
        return [(key, answer) for key, answer, _ in self.answers]


def press(key: int, unicode: str = "", mod: int = 0) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode=unicode,
                                         scancode=0))


def click(pos, button: int = 1) -> None:
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=button))


@pytest.fixture(autouse=True)
def display():
    """An initialised video system (so events can be posted before run) and an empty queue."""
    pygame.display.init()
    pygame.event.clear()
    yield
    pygame.display.quit()


def test_keys_give_answers_in_order_and_commit_before_the_next_pair():
    source = FakeSource(6)
    for key in (pygame.K_LEFT, pygame.K_d, pygame.K_DOWN, pygame.K_s, pygame.K_EQUALS,
                pygame.K_a):
        press(key)
    start = time.monotonic()
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
    assert viewer.run(max_seconds=5) == 6
    assert time.monotonic() - start < 4                    # returned when the source ran out
    assert source.given() == [(0, "left"), (1, "right"), (2, "equal"), (3, "skip"),
                              (4, "equal"), (5, "left")]
    assert all(0 <= seconds < 4 for _, _, seconds in source.answers)
    answer_at = [i for i, call in enumerate(source.calls) if call == "answer"]
    assert all(source.calls[i + 1] == "next_pair" for i in answer_at)
    assert not pygame.display.get_init()                   # window closed, pygame not quit
    assert pygame.font.get_init()


def test_undo_shows_the_pair_again_and_the_displaced_one_comes_back():
    source = FakeSource(3)
    for key in (pygame.K_LEFT, pygame.K_u, pygame.K_RIGHT, pygame.K_d, pygame.K_DOWN):
        press(key)
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
    assert viewer.run(max_seconds=5) == 4                  # the undone answer was given too
    assert source.given() == [(0, "right"), (1, "right"), (2, "equal")]
    assert source.calls.count("undo") == 1


def test_quit_keeps_committed_answers_and_ignores_later_keys():
    for quit_event in (lambda: press(pygame.K_q), lambda: press(pygame.K_ESCAPE),
                       lambda: pygame.event.post(pygame.event.Event(pygame.QUIT))):
        pygame.display.init()
        source = FakeSource(5)
        press(pygame.K_LEFT)
        quit_event()
        press(pygame.K_RIGHT)
        viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
        assert viewer.run(max_seconds=5) == 1
        assert source.given() == [(0, "left")]
        assert viewer.pair is not None and viewer.pair.key == 1   # shown, not answered


def test_speed_keys_double_and_halve_within_bounds_and_space_replays():
    source = FakeSource(2)
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
    for key, text in ((pygame.K_PLUS, "+"), (pygame.K_KP_PLUS, ""), (pygame.K_EQUALS, "+"),
                      (pygame.K_PLUS, "+")):
        press(key, text, mod=pygame.KMOD_LSHIFT if key == pygame.K_EQUALS else 0)
    press(pygame.K_MINUS, "-")
    assert viewer.run(max_seconds=0.3) == 0
    assert viewer.speed == 2.0 and source.answers == []    # shift+'=' is '+', not "equal"
    pygame.display.init()
    for _ in range(5):
        press(pygame.K_KP_MINUS)
    viewer.run(max_seconds=0.3)
    assert viewer.speed == 0.25
    viewer.speed = 1.0
    for _ in range(10):
        if viewer.frame:
            break
        pygame.display.init()
        viewer.run(max_seconds=0.1)
    assert viewer.frame != 0
    pygame.display.init()
    press(pygame.K_SPACE)
    press(pygame.K_q)
    viewer.run(max_seconds=2)
    assert viewer.frame == 0 and source.answers == []


def test_mouse_clicks_on_clips_and_buttons():
    source = FakeSource(5)
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
    lay = viewer.layout
    assert not lay.clip_a.colliderect(lay.clip_b)
    click((2, 2))                                          # margin: nothing
    click(lay.clip_a.center, button=3)                     # right button: nothing
    for rect in (lay.clip_a, lay.clip_b, lay.equal, lay.skip):
        click(rect.center)
    click(lay.undo.center)                                 # takes back the skip
    click(lay.clip_b.center)
    click(lay.clip_a.center)
    assert viewer.run(max_seconds=5) == 6
    assert source.given() == [(0, "left"), (1, "right"), (2, "equal"), (3, "right"),
                              (4, "left")]
    assert viewer.pair is None                             # the source ran out


def test_driven_from_a_thread_while_running():
    source = FakeSource(4)
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)

    def user():
        for key in (pygame.K_LEFT, pygame.K_RIGHT, pygame.K_q):
            time.sleep(0.15)
            press(key)

    thread = threading.Thread(target=user)
    thread.start()
    given = viewer.run(max_seconds=5)
    thread.join()
    assert given == 2 and source.given() == [(0, "left"), (1, "right")]
    assert all(seconds > 0.05 for _, _, seconds in source.answers)


def test_screenshots_show_moving_clips(tmp_path):
    source = FakeSource(2)
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
    viewer.run(max_seconds=0.3)
    first_frame = viewer.frame
    viewer.screenshot(tmp_path / "a.png")
    pygame.display.init()
    viewer.run(max_seconds=0.2)
    viewer.screenshot(tmp_path / "b.png")
    a, b = iio.imread(tmp_path / "a.png"), iio.imread(tmp_path / "b.png")
    width, height = viewer.layout.size
    assert a.shape[:2] == b.shape[:2] == (height, width)
    assert a.std() > 10 and len(np.unique(a.reshape(-1, a.shape[-1]), axis=0)) > 5
    assert viewer.frame != first_frame
    for rect in (viewer.layout.clip_a, viewer.layout.clip_b):
        crop = (slice(rect.top, rect.bottom), slice(rect.left, rect.right))
        assert not np.array_equal(a[crop], b[crop])
        assert a[crop].std() > 10
    assert np.array_equal(a[:40], b[:40])                  # the prompt stays put


def test_waiting_source_keeps_the_window_alive_then_shows_the_pair(tmp_path):
    source = FakeSource(1, waits=1000)
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
    press(pygame.K_LEFT)                                   # while loading: dropped
    assert viewer.run(max_seconds=0.3) == 0
    assert viewer.pair is None and source.calls.count("next_pair") > 3
    viewer.screenshot(tmp_path / "loading.png")
    assert iio.imread(tmp_path / "loading.png").std() > 5

    source = FakeSource(2, waits=5)
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
    pygame.display.init()
    press(pygame.K_LEFT)
    assert viewer.run(max_seconds=0.5) == 0
    assert viewer.pair is not None and viewer.pair.key == 0 and source.answers == []


def test_clips_keep_their_aspect_and_bad_clips_are_refused(tmp_path):
    source = FakeSource(1, height=32, width=128)
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
    viewer.run(max_seconds=0.2)
    assert viewer.layout.clip_a.size == viewer.layout.clip_b.size == (160, 40)
    viewer.screenshot(tmp_path / "wide.png")
    assert iio.imread(tmp_path / "wide.png").shape[:2] == viewer.layout.size[::-1]

    source = FakeSource(1)
    source.pairs[0] = Pair(0, source.pairs[0].left, source.pairs[0].right[:, :32])
    pygame.display.init()
    with pytest.raises(ValueError, match="same|one shape"):
        Viewer(source, annotator="ada", end_seconds=0).run(max_seconds=1)
    assert not pygame.display.get_init()


def test_single_clips_are_rated_with_number_keys_and_buttons(tmp_path):
    source = FakeSource(6)
    for k in (1, 4):  # rate clips 1 and 4; the others stay pairs
        source.pairs[k] = Pair(k, source.pairs[k].left)
    press(pygame.K_LEFT)                                   # pair 0: left
    press(pygame.K_LEFT)                                   # clip 1: not an answer to a clip
    press(pygame.K_4)                                      # clip 1: rated 4
    press(pygame.K_3)                                      # pair 2: not an answer to a pair
    press(pygame.K_RIGHT)                                  # pair 2: right
    press(pygame.K_KP5)                                    # pair 3: ignored
    press(pygame.K_s)                                      # pair 3: skip
    viewer = Viewer(source, annotator="ada", clip_size=160, end_seconds=0)
    assert viewer.run(max_seconds=1.5) == 4
    assert viewer.pair.key == 4 and len(viewer.layout.clips) == 1
    viewer.screenshot(tmp_path / "rate.png")
    assert source.given() == [(0, "left"), (1, "4"), (2, "right"), (3, "skip")]

    shot = iio.imread(tmp_path / "rate.png")
    rect = viewer.layout.clip_a
    assert abs(rect.centerx - viewer.layout.size[0] // 2) <= 1   # one clip, centred
    assert shot[rect.top:rect.bottom, rect.left:rect.right].std() > 10
    pygame.display.init()
    click(viewer.layout.clip_a.center)                     # clicking the clip: nothing
    click(viewer.layout.buttons["2"].center)               # clip 4: rated 2
    viewer.run(max_seconds=1.5)
    assert source.given()[4] == (4, "2")

