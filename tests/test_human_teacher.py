"""--teacher human: the loop opens the viewer on its queries and waits for a person."""

import os
import threading
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402
from conftest import one_line  # noqa: E402

from agents.loop import RunConfig, run  # noqa: E402
from agents.train import main  # noqa: E402
from feedback.errors import FeedbackError  # noqa: E402
from feedback.store import FeedbackStore  # noqa: E402


def person(keys: list[int], stop: threading.Event) -> None:
    """Press the next key whenever a viewer window is open, as a quick person would."""
    while not stop.is_set() and keys:
        time.sleep(0.15)
        if pygame.display.get_init() and pygame.display.get_surface() is not None:
            try:
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=keys[0], mod=0,
                                                     unicode="", scancode=0))
                keys.pop(0)
            except pygame.error:  # the window closed meanwhile
                pass


def test_a_person_answers_the_loops_queries_in_the_viewer(tmp_path):
    keys = [pygame.K_LEFT, pygame.K_RIGHT, pygame.K_DOWN, pygame.K_LEFT] * 10
    stop = threading.Event()
    thread = threading.Thread(target=person, args=(keys, stop), daemon=True)
    thread.start()
    try:
        metrics = run(RunConfig(env_id="Reacher-v0", teacher="human", annotator="ana",
                                labels=6, iterations=2, timesteps=2_048, n_envs=2,
                                out=tmp_path / "run", progress=False))
    finally:
        stop.set()
        thread.join()
    with FeedbackStore(tmp_path / "run" / "feedback.db") as store:
        labels = store.labels()
        assert not store.pending_queries()  # every query asked was answered
    asked = [lab for lab in labels if lab.annotator == "ana"]
    assert len(asked) >= 6 and {lab.annotator_kind for lab in asked} == {"human"}
    assert metrics["labels_used"] == len(labels) and metrics["teacher"] == "human"


def test_a_bad_annotator_name_is_one_line(tmp_path, capsys):
    assert main(["--env", "Reacher-v0", "--teacher", "human", "--annotator", "a\tb",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "control characters" in err and "\n" not in err
    with pytest.raises(FeedbackError) as err:
        run(RunConfig(env_id="Reacher-v0", teacher="human", annotator="", out=tmp_path / "r"))
    assert "must not be empty" in one_line(err)
