"""Labeling latency: from a person's answer to the next pair on screen; and redraw speed.

    python -m benchmarks.viewer [--env HalfCheetah-v0] [--answers 40]

A real session (fresh random-policy clips of the env's default segment length, drawn in
the background at the size ``compare`` draws them) in the real viewer, headless; a thread
answers every ``--interval`` seconds, by default as soon as a person has watched the clip
once at the env's pace, plus half a second to decide (HalfCheetah: 50 frames at 20 a
second, 3.0 s). Latency is measured from
the start of ``answer`` (the commit) to the moment the next pair is handed to the viewer.
Target: median <= 100 ms. Then the window is redrawn in full at 1920x1080 (clips scaled,
timeline, text) as fast as it goes, without the 60 Hz clock: redraws per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from benchmarks.common import write_result  # noqa: E402
from feedback.store import FeedbackStore  # noqa: E402
from feedback.ui.sessions import CompareSession  # noqa: E402
from feedback.ui.viewer import Viewer  # noqa: E402
from rlhf_envs.labeling import clip_renderer, rollout_segments  # noqa: E402
from rlhf_envs.registration import clip_guide, segment_length  # noqa: E402

REDRAWS = 300  # full redraws timed at 1080p
DECIDE_SECONDS = 0.5  # after one viewing of the clip, a quick person answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="HalfCheetah-v0", help="env id (default HalfCheetah-v0)")
    parser.add_argument("--answers", type=int, default=40, help="answers to time")
    parser.add_argument("--interval", type=float, default=None,
                        help="seconds between answers (default: one viewing of the clip at "
                             "the env's pace, plus 0.5 s)")
    args = parser.parse_args()
    env_id = f"rlhf_envs/{args.env.removeprefix('rlhf_envs/')}"
    length = segment_length(env_id)
    if args.interval is None:
        args.interval = length / clip_guide(env_id).fps + DECIDE_SECONDS
    with tempfile.TemporaryDirectory() as tmp:
        store = FeedbackStore(Path(tmp) / "labels.db")
        session = CompareSession(
            store, env_id, "bench", planned=args.answers, make_renderer=clip_renderer(env_id),
            clip_size=clip_guide(env_id).pixels, make_segments=lambda batch, _: rollout_segments(
                env_id, length * 16, length, seed=batch))
        answered_at: list[float] = []
        latencies: list[float] = []
        answer, next_pair = session.answer, session.next_pair

        def timed_answer(key, choice, seconds, **flags):
            answered_at.append(time.perf_counter())
            answer(key, choice, seconds, **flags)

        def timed_next(timeout):
            pair = next_pair(timeout)
            if pair not in (None, "wait") and len(answered_at) > len(latencies):
                latencies.append(time.perf_counter() - answered_at[len(latencies)])
            return pair

        session.answer, session.next_pair = timed_answer, timed_next
        pygame.display.init()

        def press() -> None:
            while True:
                time.sleep(args.interval)
                try:
                    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LEFT,
                                                         mod=0, unicode="", scancode=0))
                except pygame.error:  # the viewer has closed its window: the session is over
                    return

        threading.Thread(target=press, daemon=True).start()
        viewer = Viewer(session, annotator="bench", guide=clip_guide(env_id), end_seconds=0,
                        window_size=(1920, 1080))
        viewer.run()
        fps = redraws_per_second(viewer, session.store)
        session.close()
        store.close()
    ms = np.array(latencies) * 1000
    write_result("viewer", {
        "env_id": env_id,
        "answers": len(ms),
        "interval_seconds": args.interval,
        "latency_ms_median": round(float(statistics.median(ms)), 2),
        "latency_ms_p95": round(float(np.percentile(ms, 95)), 2),
        "latency_ms_max": round(float(ms.max()), 2),
        "target_median_ms": 100,
        "segment_length": length,
        "clip_pixels": clip_guide(env_id).pixels,
        "redraw_window": [1920, 1080],
        "redraws_per_second_1080p": round(fps, 1),
        "command": " ".join(["python -m benchmarks.viewer", *sys.argv[1:]]),
    })


def redraws_per_second(viewer: Viewer, store: FeedbackStore) -> float:
    """Full redraws per second of ``viewer``'s 1920x1080 window, showing a stored pair."""
    from feedback.ui.pairs import Pair
    from rlhf_envs.registration import make_clip_renderer

    segments = store.get_segments(store.segment_ids()[:2])
    pixels = viewer.guide.pixels
    renderer = make_clip_renderer(segments[0].env_id, pixels, round(pixels / viewer.guide.aspect))
    frames = [renderer.frames(s) for s in segments]
    renderer.close()
    pygame.display.init()
    viewer._window = pygame.display.set_mode((1920, 1080))
    viewer._show(Pair(0, frames[0], frames[1]))
    for _ in range(len(frames[0])):  # every frame scaled once, as while watching a clip
        viewer._pos += 1
        viewer._draw()
    start = time.perf_counter()
    for _ in range(REDRAWS):
        viewer._pos += 1
        viewer._draw()
    seconds = time.perf_counter() - start
    viewer._window = None
    pygame.display.quit()
    return REDRAWS / seconds


if __name__ == "__main__":
    main()
