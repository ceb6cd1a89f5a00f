"""The viewer's playback controls, flag and note, resizing, episode ends and end screen.

Driven headless, as in :mod:`test_viewer`, by posted pygame events and a fake source.
"""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402
from test_viewer import FakeSource, click, display, press  # noqa: E402,F401  (display: autouse)

from feedback.ui.pairs import ClipGuide  # noqa: E402
from feedback.ui.viewer import Viewer  # noqa: E402


def text_input(text: str) -> None:
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=text))


def test_pause_steps_frames_and_the_timeline_shows_the_frame(tmp_path):
    source = FakeSource(2)
    viewer = Viewer(source, annotator="ada", window_size=(900, 600), end_seconds=0)
    press(pygame.K_p)                                      # pause at once: frame 0
    press(pygame.K_PERIOD)
    press(pygame.K_PERIOD)
    press(pygame.K_COMMA)                                  # 0 -> 1 -> 2 -> 1
    viewer.run(max_seconds=0.4)
    assert viewer.paused and viewer.frame == 1
    pygame.display.init()
    press(pygame.K_COMMA)
    press(pygame.K_COMMA)                                  # back past frame 0: the last one
    viewer.run(max_seconds=0.4)
    assert viewer.frame == len(source.pairs[0].left) - 1
    viewer.screenshot(tmp_path / "paused.png")
    pygame.display.init()
    bar = viewer.layout.timeline
    click((bar.left + bar.width // 2, bar.centery))        # seek to the middle, still paused
    viewer.run(max_seconds=0.3)
    assert viewer.frame == len(source.pairs[0].left) // 2 and viewer.paused
    pygame.display.init()
    press(pygame.K_p)                                      # play again
    viewer.run(max_seconds=0.5)
    assert not viewer.paused and viewer.frame != len(source.pairs[0].left) // 2
    assert source.answers == []                            # no command answered anything


def test_flag_and_note_go_with_the_answer_and_a_flash_confirms_it():
    source = FakeSource(3)
    viewer = Viewer(source, annotator="ada", window_size=(900, 600), end_seconds=0)
    press(pygame.K_f)                                      # flag pair 0, then answer it
    press(pygame.K_n)                                      # a note: keys are text now
    for text in "B is black":
        text_input(text)
    press(pygame.K_BACKSPACE)
    text_input("k")
    press(pygame.K_RETURN)
    press(pygame.K_s)                                      # skip, flagged, with the note
    press(pygame.K_n)                                      # pair 1: a note dropped with Esc
    text_input("never mind")
    press(pygame.K_ESCAPE)                                 # ends the note, not the session
    press(pygame.K_LEFT)
    viewer.run(max_seconds=1.5)
    assert source.given() == [(0, "skip"), (1, "left")]
    assert source.flags == [(True, "B is black"), (False, "")]
    assert viewer._flash[0] == "Stored: A is better"  # the last answer's confirmation
    assert viewer.pair.key == 2 and not viewer.flagged and viewer.note == ""


def test_resizing_the_window_makes_the_clips_fill_it(tmp_path):
    source = FakeSource(2)
    viewer = Viewer(source, annotator="ada", window_size=(800, 600), end_seconds=0)
    viewer.run(max_seconds=0.3)
    small = viewer.layout.clip_a.copy()
    pygame.display.init()
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=1600, h=1000, size=(1600, 1000)))
    viewer.run(max_seconds=0.3)
    big = viewer.layout.clip_a
    assert viewer.layout.size == (1600, 1000) and big.width > 1.5 * small.width
    assert big.width == big.height                         # square clips stay square
    assert viewer.layout.clip_b.right <= 1600 and viewer.layout.text_top < 1000
    viewer.screenshot(tmp_path / "big.png")
    shot = iio.imread(tmp_path / "big.png")
    assert shot.shape[:2] == (1000, 1600)
    inside = shot[big.top + 2:big.bottom - 2, big.left + 2:big.right - 2]
    assert (inside != [28, 28, 32]).any(-1).mean() > 0.99  # the clip (its own background 20)
    red = (inside == [250, 60, 60]).all(-1).mean()          # its square, scaled with it
    assert 0.02 < red < 0.05
    for line in viewer.layout.help_lines + viewer.layout.legend_lines:
        assert viewer._font(round(20 * viewer.layout.scale)).size(line)[0] <= 1600


def test_an_episodes_end_holds_the_clip_and_is_marked(tmp_path):
    source = FakeSource(1)
    pair = source.pairs[0]
    pair.left[12:] = pair.left[11]                         # held, as a padded segment is
    pair.ends = (12, None)
    viewer = Viewer(source, annotator="ada", window_size=(900, 600), end_seconds=0,
                    guide=ClipGuide("Do well.", ["A legend line."], ended="episode over: fell"))
    press(pygame.K_p)
    for _ in range(15):
        press(pygame.K_PERIOD)                             # frame 15: past the end of A
    viewer.run(max_seconds=0.5)
    viewer.screenshot(tmp_path / "ended.png")
    shot = iio.imread(tmp_path / "ended.png")
    a, b = viewer.layout.clip_a, viewer.layout.clip_b
    band = shot[a.bottom - 20:a.bottom - 2, a.left + 4:a.right - 4]
    assert (np.abs(band.astype(int) - [60, 40, 20]).sum(-1) < 10).mean() > 0.3  # the overlay
    other = shot[b.bottom - 20:b.bottom - 2, b.left + 4:b.right - 4]
    assert (np.abs(other.astype(int) - [60, 40, 20]).sum(-1) < 10).mean() == 0  # B is live
    assert viewer.layout.task_lines == ["Do well."]


def test_the_end_screen_sums_up_the_session_until_a_key():
    class Counted(FakeSource):
        def tally(self, final=False):
            from feedback.ui.pairs import Tally
            skips = sum(answer == "skip" for _, answer, _ in self.answers)
            return Tally(len(self.answers) - skips, skips, planned=2, in_store=7, waiting=0,
                         self_consistency=0.5 if final else None, repeats=2 if final else 0)

    source = Counted(2)
    viewer = Viewer(source, annotator="ada", window_size=(900, 600), end_seconds=30)
    press(pygame.K_LEFT)
    press(pygame.K_s)
    press(pygame.K_SPACE)                                  # at once: too soon to close it
    threading.Timer(1.6, lambda: press(pygame.K_SPACE)).start()  # the key that closes it
    start = time.monotonic()
    viewer.run(max_seconds=20)
    assert 1.5 < time.monotonic() - start < 10             # shown, then closed by the key
    lines = viewer.summary()
    assert lines[0].startswith("1 answer, 1 skip in ") and "1 of 2 planned" in lines[0]
    assert lines[1] == "self-consistency 50% over 2 repeated pairs"
    assert lines[2] == "in this store: 7 answers by ada, 0 unanswered pairs waiting"
