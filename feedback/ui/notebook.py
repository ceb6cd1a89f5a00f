"""Labeling in Jupyter: an ipywidgets front end to the same sessions as the pygame viewer.

Researchers who label in a notebook (imitation's issue #711) get the same
:class:`~feedback.ui.pairs.PairSource` sessions, the same store and the same durability:
every answer is committed by ``source.answer`` before the next pair shows. Clips play as
looping GIFs (``ipywidgets.Image``, encoded with imageio); buttons answer (A better, B
better, equal, skip), undo, flag a broken pair and keep a one-line note. ipywidgets has
no keyboard events of its own, so there are no answer keys; Enter in the note box keeps
the note. Needs the ``notebook`` extra (``pip install 'rlhf-envs[notebook]'``); importing
this module imports neither ipywidgets nor pygame. The README's "In a notebook" example
builds a session with an env's clip renderer and guide (from ``rlhf_envs``, the layer
above, which hands them in).
"""

from __future__ import annotations

import html
import io
import time
from typing import Any

import numpy as np

from feedback.answers import EQUAL, LEFT, RATINGS, RIGHT, SKIP
from feedback.errors import FeedbackError
from feedback.ui.pairs import PROMPTS, ClipGuide, Pair, PairSource, status_of, tally_of
from feedback.ui.viewer_text import flash_of, status_line, summary_lines

WAIT_SECONDS = 120.0  # the longest a pair is waited for (the session says what it does)
POLL_SECONDS = 0.2


def _widgets() -> Any:
    try:
        import ipywidgets
    except ImportError:
        raise FeedbackError("the notebook labeler needs ipywidgets: pip install "
                            "'rlhf-envs[notebook]'") from None
    return ipywidgets


def clip_gif(frames: np.ndarray, fps: float) -> bytes:
    """A looping GIF of ``(T, H, W, 3)`` uint8 frames played at ``fps``."""
    import imageio.v3 as iio

    buffer = io.BytesIO()
    iio.imwrite(buffer, np.asarray(frames, np.uint8), extension=".gif",
                duration=1000.0 / fps, loop=0)
    return buffer.getvalue()


class NotebookLabeler:
    """Shows pairs from ``source`` in a notebook and hands the answers back to it.

    :param source: where pairs come from and answers go (e.g. a ``CompareSession``)
    :param annotator: the person's name, shown in the status line
    :param fps: playback frames per second (default: the guide's)
    :param guide: the env's task line, legend, pace and what an episode's end is called
    :param wait_seconds: how long to wait for a pair the session is still preparing
    """

    def __init__(self, source: PairSource, *, annotator: str, fps: float | None = None,
                 guide: ClipGuide | None = None, wait_seconds: float = WAIT_SECONDS) -> None:
        w = _widgets()
        self.source, self.annotator = source, annotator
        self.guide = guide or ClipGuide()
        self.fps, self.wait_seconds = float(fps or self.guide.fps), wait_seconds
        self.pair: Pair | None = None
        self.done = False
        self._shown_at, self._start = 0.0, time.monotonic()
        self.prompt = w.HTML()
        self.clips = [w.Image(format="gif"), w.Image(format="gif")]
        self.captions = [w.HTML(), w.HTML()]
        self.buttons = {LEFT: w.Button(description="A is better"),
                        RIGHT: w.Button(description="B is better"),
                        EQUAL: w.Button(description="Equal"), SKIP: w.Button(description="Skip"),
                        **{r: w.Button(description=r, layout=w.Layout(width="48px"))
                           for r in RATINGS},
                        "undo": w.Button(description="Undo")}
        for action, button in self.buttons.items():
            button.on_click(lambda _, action=action: self._act(action))
        self.flag = w.ToggleButton(description="Flag: broken pair", value=False)
        self.note = w.Text(placeholder="a note on this pair (Enter keeps it)",
                           continuous_update=False)
        self.flash, self.status = w.HTML(), w.HTML()
        legend = "".join(f"<div>{html.escape(line)}</div>" for line in self.guide.legend)
        self._row = w.HBox()
        self.widget = w.VBox([self.prompt, self._row, w.HBox(list(self.buttons.values())),
                              w.HBox([self.flag, self.note]), self.flash, w.HTML(legend),
                              self.status])

    def show(self) -> Any:
        """Display the widget (in a notebook) with the first pair; returns the widget."""
        try:
            from IPython.display import display

            display(self.widget)
        except ImportError:  # not in IPython: the caller shows self.widget
            pass
        self.next()
        return self.widget

    def next(self) -> None:
        """Show the next pair, waiting while the session prepares it (and saying so)."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            got = self.source.next_pair(timeout=POLL_SECONDS)
            if got is None:
                self._finish()
                return
            if got != "wait":
                self._show(got)
                return
            self.status.value = html.escape(status_of(self.source) or "preparing the next pair...")
            if time.monotonic() > deadline:
                self.flash.value = "No pair ready yet; press Skip or Undo to try again."
                return

    def _show(self, pair: Pair) -> None:
        rate = pair.right is None
        self.pair, self._shown_at = pair, time.monotonic()
        task = f"<div style='color:#b06000'>{html.escape(self.guide.task)}</div>"
        self.prompt.value = f"<b>{html.escape(pair.prompt or PROMPTS[rate])}</b>{task}"
        sides = [pair.left] if rate else [pair.left, pair.right]
        for side, frames in enumerate(sides):
            self.clips[side].value = clip_gif(frames, self.fps)
            end = pair.end_of(side)
            label = "" if rate else ("A", "B")[side]
            over = (f": {html.escape(self.guide.ended)} from frame {end + 1} of {len(frames)}"
                    if end is not None else "")
            self.captions[side].value = f"<b>{label}</b>{over}"
        w = _widgets()
        self._row.children = [w.VBox([self.captions[s], self.clips[s]]) for s in range(len(sides))]
        for action, button in self.buttons.items():
            button.layout.display = ("" if action == "undo" or action in pair.answers else "none")
        self.flag.value, self.note.value = False, ""
        self._status()

    def _act(self, action: str) -> None:
        """A button: answer the pair on screen, or undo."""
        if self.done:
            return
        if action == "undo":
            again = self.source.undo()
            self.flash.value = ("Undone: the last answer is taken back" if again is not None
                                else "Nothing to undo")
            if again is not None:
                self._show(again)
            return
        if self.pair is None or action not in self.pair.answers:
            self.next()
            return
        flagged, note = self.flag.value, self.note.value.strip()
        self.source.answer(self.pair.key, action, time.monotonic() - self._shown_at,
                           flagged=flagged, note=note)
        self.flash.value = html.escape(flash_of(action, flagged, note))
        self.pair = None
        self.next()

    def _status(self) -> None:
        seconds = time.monotonic() - self._start
        self.status.value = html.escape(status_line(self.annotator, tally_of(self.source),
                                                    seconds, 1.0, self.fps))

    def summary(self) -> list[str]:
        """The session's summary (what the end shows)."""
        return summary_lines(tally_of(self.source, final=True), time.monotonic() - self._start,
                             self.annotator)

    def _finish(self) -> None:
        self.done, self.pair = True, None
        self._row.children = []
        for button in self.buttons.values():
            button.disabled = True
        self.prompt.value = "<b>Session over</b>"
        self.status.value = "<br>".join(html.escape(line) for line in self.summary())
