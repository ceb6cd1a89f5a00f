"""Labeling latency: from a person's answer to the next pair on screen.

    python -m benchmarks.viewer [--env HalfCheetah-v0] [--answers 40]

A real session (fresh random-policy clips, rendered in the background) in the real
viewer, headless; a thread answers every ``--interval`` seconds, as a quick person would.
Latency is measured from the start of ``answer`` (the commit) to the moment the next
pair is handed to the viewer. Target: median <= 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
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
from rlhf_envs.labeling import clip_renderer, rollout_segments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="HalfCheetah-v0", help="env id (default HalfCheetah-v0)")
    parser.add_argument("--answers", type=int, default=40, help="answers to time")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between answers (a person watching a clip)")
    args = parser.parse_args()
    env_id = f"rlhf_envs/{args.env.removeprefix('rlhf_envs/')}"
    with tempfile.TemporaryDirectory() as tmp:
        store = FeedbackStore(Path(tmp) / "labels.db")
        session = CompareSession(
            store, env_id, "bench", planned=args.answers, make_renderer=clip_renderer(env_id),
            make_segments=lambda batch, _: rollout_segments(env_id, 50 * 16, 50, seed=batch))
        answered_at: list[float] = []
        latencies: list[float] = []
        answer, next_pair = session.answer, session.next_pair

        def timed_answer(key, choice, seconds):
            answered_at.append(time.perf_counter())
            answer(key, choice, seconds)

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
        Viewer(session, annotator="bench").run()
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
        "command": "python -m benchmarks.viewer",
    })


if __name__ == "__main__":
    main()
