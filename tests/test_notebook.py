"""The notebook labeler (ipywidgets), driven headless through its buttons' callbacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from feedback.store import FeedbackStore
from feedback.ui.sessions import CompareSession
from rlhf_envs.labeling import clip_renderer, rollout_segments
from rlhf_envs.registration import clip_guide

pytest.importorskip("ipywidgets")

ENV = "rlhf_envs/Reacher-v0"


def test_importing_it_needs_neither_pygame_nor_ipywidgets():
    code = ("import sys, feedback.ui.notebook; "
            "assert 'pygame' not in sys.modules and 'ipywidgets' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_buttons_answer_flag_note_and_undo_into_the_store(tmp_path):
    from feedback.ui.notebook import NotebookLabeler

    store = FeedbackStore(tmp_path / "labels.db")
    session = CompareSession(store, ENV, "nb", planned=2, make_renderer=clip_renderer(ENV),
                             make_segments=lambda seed, progress: rollout_segments(
                                 ENV, 160, 10, seed, progress=progress), repeat_share=0.0)
    labeler = NotebookLabeler(session, annotator="nb", guide=clip_guide(ENV))
    try:
        labeler.show()
        first = labeler.pair
        assert first is not None and labeler.clips[0].value[:6] == b"GIF89a"
        assert "onto the red target" in labeler.prompt.value  # the env's task line
        labeler.buttons["left"].click()
        assert [(lab.query_id, lab.answer) for lab in store.labels()] == [(first.key, "left")]
        second = labeler.pair
        labeler.flag.value, labeler.note.value = True, "B froze"
        labeler.buttons["skip"].click()
        last = store.labels()[-1]
        assert (last.query_id, last.answer, last.flagged, last.note) == (
            second.key, "skip", True, "B froze")
        assert "flagged" in labeler.flash.value
        labeler.buttons["undo"].click()                    # the flagged skip is taken back
        assert len(store.labels()) == 1 and labeler.pair.key == second.key
        assert not labeler.flag.value and labeler.note.value == ""
        labeler.buttons["right"].click()                   # the second usable answer: done
        assert labeler.done and labeler.pair is None
        assert [lab.answer for lab in store.labels()] == ["left", "right"]
        assert labeler.summary()[0].startswith("2 answers, 1 undone in ")
        assert "Session over" in labeler.prompt.value
        labeler.buttons["left"].click()                    # after the end: nothing happens
        assert len(store.labels()) == 2
    finally:
        session.close()
        store.close()
