"""Labeling sessions: the pair source behind the viewer, the CLI's checks, kills."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from feedback.store import FeedbackStore
from feedback.ui.sessions import CompareSession, RateSession
from rlhf_envs.compare import main
from rlhf_envs.labeling import clip_renderer, rollout_segments

ENV = "rlhf_envs/Reacher-v0"
ROOT = Path(__file__).parent.parent


def fresh_maker(length=10):
    return lambda batch, progress: rollout_segments(ENV, length * 16, length, seed=batch,
                                                    progress=progress)


def take(session, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pair = session.next_pair(timeout=0.2)
        if pair != "wait":
            return pair
    raise AssertionError("no pair within the timeout")


def test_session_stores_answers_undoes_and_resumes(tmp_path):
    path = tmp_path / "labels.db"
    store = FeedbackStore(path)
    session = CompareSession(store, ENV, "ana", planned=3, make_renderer=clip_renderer(ENV),
                             make_segments=fresh_maker())
    first = take(session)
    assert first.left.shape == first.right.shape and first.left.shape[1:] == (128, 128, 3)
    assert np.any(first.left[0] != first.left[-1])  # the clip moves
    session.answer(first.key, "left", 1.5)
    assert [lab.answer for lab in store.labels()] == ["left"]  # committed at once
    second = take(session)
    session.answer(second.key, "right", 2.0)
    third = take(session)  # on screen, unanswered, when the person undoes
    again = session.undo()
    assert again.key == second.key and len(store.labels()) == 1
    session.answer(again.key, "equal", 0.5)
    assert take(session).key == third.key  # the pair the undo displaced comes back
    session.answer(third.key, "left", 0.7)
    tally = session.tally()  # one undone: three answers stored, as in the store
    assert (tally.answers, tally.skips, tally.undone, tally.in_store) == (3, 0, 1, 3)
    session.close()
    store.close()

    store = FeedbackStore(path)  # the same command again: goes on where it stopped
    labels = store.labels()
    assert [(lab.answer, lab.annotator, lab.annotator_kind) for lab in labels] == [
        ("left", "ana", "human"), ("equal", "ana", "human"), ("left", "ana", "human")]
    pending = {q.id for q in store.pending_queries()}
    session = CompareSession(store, ENV, "ana", planned=1, make_renderer=clip_renderer(ENV),
                             make_segments=fresh_maker())
    nxt = take(session)
    assert nxt.key in pending  # an unanswered query from before comes first
    session.answer(nxt.key, "skip", 1.0)  # a skip is no usable answer: the session goes on
    last = take(session)
    session.answer(last.key, "right", 1.0, flagged=True, note="B is black")  # nor a flagged one
    session.answer(take(session).key, "left", 1.0)
    assert session.next_pair(timeout=0.1) is None  # planned answers given
    tally = session.tally()
    assert (tally.answers, tally.skips, tally.flagged, tally.undone) == (1, 1, 1, 0)
    assert tally.in_store == 4 and tally.stored == 3 == len(store.labels()) - 3
    session.close()
    store.close()


def test_from_run_answers_only_the_runs_queries(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.db")
    segments = rollout_segments(ENV, 60, 10, seed=0)
    store.add_segments(segments)
    [query] = store.add_queries([(segments[0].id, segments[1].id)])
    session = CompareSession(store, ENV, "bo", planned=5, make_renderer=clip_renderer(ENV))
    pair = take(session)
    assert pair.key == query
    session.answer(pair.key, "right", 3.0)
    assert take(session) is None  # nothing else was asked
    session.close()


@pytest.mark.parametrize("extra, message", [
    (["--mode", "dance"], "unknown mode 'dance'"),
    (["--annotator", "eve\x07"], "control characters"),
    (["--pairs", "0"], "--pairs must be at least 1"),
    (["--fps", "0"], "--fps must be more than 0 and at most 240, got 0"),
    (["--env", "Teleport-v0"], "unknown env 'Teleport-v0'"),
])
def test_bad_input_is_one_line(extra, message, tmp_path, capsys):
    argv = ["--env", "Reacher-v0", "--store", str(tmp_path / "s.db"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_a_store_of_another_env_is_refused(tmp_path, capsys):
    store = FeedbackStore(tmp_path / "s.db")
    store.add_segments(rollout_segments("rlhf_envs/Swimmer-v0", 20, 10, seed=0))
    store.close()
    assert main(["--env", "Reacher-v0", "--store", str(tmp_path / "s.db")]) == 2
    err = capsys.readouterr().err.strip()
    assert "holds clips of rlhf_envs/Swimmer-v0, not rlhf_envs/Reacher-v0" in err
    assert main(["--env", "Reacher-v0", "--from-run", str(tmp_path / "nothing")]) == 2
    assert "no feedback.db" in capsys.readouterr().err


def test_a_session_with_no_screen_ends_in_one_line_not_an_invisible_window(tmp_path):
    """SDL falls back to its offscreen driver when DISPLAY leads nowhere; the session
    must say so, not wait for keys in a window no one sees."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-m", "rlhf_envs.compare", "--env", "Reacher-v0",
                           "--store", str(tmp_path / "s.db"), "--pairs", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    # (SDL's Wayland probe prints an "error: XDG_RUNTIME_DIR ..." line of its own)
    [line] = [x for x in done.stderr.splitlines() if x.startswith("error: no screen")]
    assert "DISPLAY=(unset)" in line and "'offscreen' driver" in line


# rate's kills are slow (30 s): the default run keeps compare's, through the same store
@pytest.mark.parametrize("mode, kills", [("compare", 10),
                                         pytest.param("rate", 5, marks=pytest.mark.slow)])
def test_kills_lose_no_acknowledged_answer(mode, kills, tmp_path):
    path = tmp_path / "labels.db"
    argv = [sys.executable, str(ROOT / "tests" / "compare_worker.py"), "--env", "Reacher-v0",
            "--store", str(path), "--pairs", "1000", "--segment-length", "10", "--mode", mode]
    rng = np.random.default_rng(0)
    acknowledged: list[str] = []
    for _ in range(kills):
        child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=open(tmp_path / "stderr.txt", "w"), text=True)
        first = child.stdout.readline()  # wait for the first answer of this run
        assert first, (tmp_path / "stderr.txt").read_text()[-3000:]
        acknowledged.append(first.strip())
        time.sleep(rng.uniform(0.0, 1.0))
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
        acknowledged += rest.split()
        with FeedbackStore(path) as store:
            answered = ([r.segment_id for r in store.ratings()] if mode == "rate"
                        else [str(lab.query_id) for lab in store.labels()])
        assert set(acknowledged) <= set(answered)
    assert len(set(acknowledged)) == len(acknowledged)  # nothing was asked twice


@pytest.mark.parametrize("env_id, kwargs", [
    ("rlhf_envs/HalfCheetah-v0", {}),
    ("rlhf_envs/Highway-v0", {"config": {"vehicles_count": 5, "duration": 40}}),
    ("rlhf_envs/SlateRec-v0", {}),
])
def test_viewer_screenshot_per_domain(env_id, kwargs, tmp_path):
    import imageio.v3 as iio
    import pygame

    from feedback.ui.viewer import Viewer

    store = FeedbackStore(tmp_path / "labels.db")
    session = CompareSession(store, env_id, "ana", planned=1, make_renderer=clip_renderer(env_id),
                             make_segments=lambda seed, _:
                             rollout_segments(env_id, 60, 15, seed, env_kwargs=kwargs))
    viewer = Viewer(session, annotator="ana", clip_size=200)
    shots = [tmp_path / "first.png", tmp_path / f"{env_id.split('/')[1]}.png"]

    def look_then_answer() -> None:  # what a person does: watch a moment, then press
        deadline = time.monotonic() + 60
        while viewer.pair is None and time.monotonic() < deadline:
            time.sleep(0.05)
        for shot in shots:
            time.sleep(0.3)
            viewer.screenshot(shot)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0,
                                             unicode="", scancode=0))

    pygame.display.init()
    person = threading.Thread(target=look_then_answer)
    person.start()
    viewer.run(max_seconds=90)
    person.join()
    first, later = iio.imread(shots[0]), iio.imread(shots[1])
    assert later.std() > 10 and np.any(first != later)  # two clips, moving
    assert [lab.answer for lab in store.labels()] == ["right"]
    session.close()
    store.close()


def test_clips_of_a_trained_policy(tmp_path, capsys):
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from rlhf_envs.compare import open_session, parser
    from rlhf_envs.sb3.checkpoint import load_policy, save_agent

    agent = PPO("MlpPolicy", make_vec_env(f"rlhf_envs:{ENV}", n_envs=1), n_steps=64,
                batch_size=64, n_epochs=1, seed=0)
    agent.learn(64)
    save_agent(agent, tmp_path / "run" / "checkpoint" / "agent")
    import gymnasium as gym

    policy = load_policy(tmp_path / "run" / "checkpoint" / "agent", gym.make(ENV))
    for name, tensor in agent.policy.state_dict().items():
        torch.testing.assert_close(policy.state_dict()[name], tensor)

    args = parser().parse_args(["--env", "Reacher-v0", "--store", str(tmp_path / "s.db"),
                                "--policy", str(tmp_path / "run"), "--segment-length", "10"])
    session = open_session(args)
    pair = take(session)
    [left] = session.store.get_segments([q.left_id for q in session.store.pending_queries()
                                         if q.id == pair.key])
    assert left.source == "policy"
    session.close()
    session.store.close()

    capsys.readouterr()  # (the training above warned about its missing reward model)
    assert main(["--env", "Reacher-v0", "--store", str(tmp_path / "t.db"),
                 "--policy", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--policy" in err and "no such file" in err and "\n" not in err


def test_one_segment_length_per_env_for_training_and_labeling(tmp_path):
    from agents.hyperparams import settings_for
    from rlhf_envs.compare import open_session, parser
    from rlhf_envs.registration import ENVS, segment_length

    for name in ENVS:  # the training loop reads the env table's row
        assert settings_for(name, "ppo").loop.segment_length == segment_length(name)
    assert [segment_length(n) for n in ("Reacher-v0", "Highway-v0", "SlateRec-v0",
                                        "HalfCheetah-v0")] == [25, 15, 20, 50]
    args = parser().parse_args(["--env", "SlateRec-v0", "--store", str(tmp_path / "s.db"),
                                "--mode", "demo"])
    session = open_session(args)  # a new store: the env's own length
    try:
        assert session.segment_length == 20
    finally:
        session.close()
        session.store.close()


def test_closing_ends_a_rollout_and_the_thread_before_it_returns(tmp_path):
    """close() returns once the drawing thread is done: one still drawing at exit crashes it."""
    class Renderer:
        closed = False

        def frames(self, segment):
            return np.zeros((1, 8, 8, 3), np.uint8)

        def close(self):
            Renderer.closed = True

    rolling = threading.Event()

    def endless_rollout(batch, progress):  # a long rollout, reporting as rollout_segments does
        while True:
            rolling.set()
            progress("rolling out...")
            time.sleep(0.01)

    store = FeedbackStore(tmp_path / "labels.db")
    session = CompareSession(store, ENV, "ana", planned=3, make_renderer=lambda size: Renderer(),
                             make_segments=endless_rollout)
    assert rolling.wait(10)
    start = time.monotonic()
    session.close()
    assert time.monotonic() - start < 2 and not session._worker.is_alive() and Renderer.closed
    assert store.segment_ids() == []  # nothing of the stopped rollout was stored
    store.close()


def test_closing_draws_no_more_clips(tmp_path):
    """Once closed, the thread stops after the clip it draws, not after every clip queued.

    (It once drew all the store's remaining clips first: HalfCheetah's 16 took 8 s.)
    """
    drawn = []

    class SlowRenderer:
        def frames(self, segment):
            drawn.append(segment.id)
            time.sleep(0.05)
            return np.zeros((2, 8, 8, 3), np.uint8)

        def close(self):
            pass

    store = FeedbackStore(tmp_path / "labels.db")
    store.add_segments(rollout_segments(ENV, 10 * 16, 10, seed=0))
    session = RateSession(store, ENV, "ana", planned=20,
                          make_renderer=lambda size: SlowRenderer())
    assert take(session) is not None
    time.sleep(0.5)  # the queue fills up (lookahead 2), and the thread waits to hand over
    before = len(drawn)
    session.close()
    assert not session._worker.is_alive()
    assert len(drawn) <= before + 2 < 16, (before, len(drawn))
    store.close()
