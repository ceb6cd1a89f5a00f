"""Env-loop throughput, each figure measured side by side in one run.

    python -m benchmarks.throughput

1. ``LearnedRewardVecEnv`` over 8 HalfCheetah envs against the same bare ``DummyVecEnv``:
   steps/s of both, timed in alternating rounds, and their ratio (target >= 0.95). The
   reward model's products run on numpy's OpenBLAS, whose kernels some machines pin
   (``OPENBLAS_CORETYPE``, for old OpenBLAS builds); there the ratio is also measured in
   a child process without the pin, with the kernels numpy picks itself, and both are
   written with the kernels they ran.
2. Clip frames/s at 128x128: ``MujocoClipRenderer`` (mujoco.Renderer, shadows and
   reflections off) against gymnasium's default ``render()``.
3. SlateRec-v0 steps/s for one env (target >= 5,000).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402

import rlhf_envs  # noqa: E402, F401
from benchmarks.common import OPENBLAS_PINS, blas, write_result  # noqa: E402
from feedback.reward_model import RewardModel  # noqa: E402
from rlhf_envs import LearnedRewardVecEnv, make_clip_renderer  # noqa: E402

ENV_ID = "rlhf_envs/HalfCheetah-v0"


def steps_per_second(venv, actions: np.ndarray, steps: int) -> float:
    start = time.perf_counter()
    for k in range(steps):
        venv.step(actions[k % len(actions)])
    return steps / (time.perf_counter() - start)


def vec_env_ratio(rounds: int, steps: int) -> dict:
    bare = make_vec_env("HalfCheetah-v5", n_envs=8, seed=0)
    wrapped_inner = make_vec_env("HalfCheetah-v5", n_envs=8, seed=0)
    model = RewardModel(bare.observation_space, bare.action_space, env_id="HalfCheetah-v5")
    wrapped = LearnedRewardVecEnv(wrapped_inner, model, env_id="HalfCheetah-v5")
    actions = np.random.default_rng(0).uniform(-1, 1, (256, 8, 6)).astype(np.float32)
    bare.reset()
    wrapped.reset()
    steps_per_second(bare, actions, steps // 4)  # warm-up
    steps_per_second(wrapped, actions, steps // 4)
    bare_rates, wrapped_rates = [], []
    for _ in range(rounds):  # alternate, so machine noise hits both alike
        bare_rates.append(steps_per_second(bare, actions, steps))
        wrapped_rates.append(steps_per_second(wrapped, actions, steps))
    ratios = [w / b for w, b in zip(wrapped_rates, bare_rates)]
    return {
        "n_envs": 8,
        "bare_vec_env_steps_per_s": round(statistics.median(bare_rates) * 8),
        "learned_reward_vec_env_steps_per_s": round(statistics.median(wrapped_rates) * 8),
        "ratio_median": round(statistics.median(ratios), 4),
        "ratio_rounds": [round(r, 4) for r in ratios],
        "ratio_target": 0.95,
        "blas": blas(),
    }


def vec_env_ratio_unpinned(rounds: int, steps: int) -> dict | None:
    """:func:`vec_env_ratio` in a child process without the machine's OpenBLAS pins,
    or None where nothing is pinned."""
    if not any(k in os.environ for k in OPENBLAS_PINS):
        return None
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_PINS}
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.throughput", "--vec-env-only",
         "--rounds", str(rounds), "--steps", str(steps)],
        env=env, capture_output=True, text=True, check=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def clip_fps(frames: int) -> dict:
    env = gym.make("HalfCheetah-v5", render_mode="rgb_array", width=128, height=128)
    env.reset(seed=0)
    states = []
    for _ in range(frames):
        env.step(env.action_space.sample())
        data = env.unwrapped.data
        states.append(np.concatenate([data.qpos, data.qvel]))
    renderer = make_clip_renderer(ENV_ID, 128, 128)
    renderer.draw(states[0])  # warm-up: GL context
    env.render()
    ours, default = [], []
    for _ in range(3):
        start = time.perf_counter()
        for state in states:
            renderer.draw(state)
        ours.append(frames / (time.perf_counter() - start))
        start = time.perf_counter()
        for _ in states:
            env.render()
        default.append(frames / (time.perf_counter() - start))
    renderer.close()
    env.close()
    ours_fps, default_fps = statistics.median(ours), statistics.median(default)
    return {
        "size": [128, 128],
        "clip_renderer_fps": round(ours_fps, 1),
        "gymnasium_render_fps": round(default_fps, 1),
        "speedup": round(ours_fps / default_fps, 2),
        "clip_renderer_target_fps": 60,
    }


def slaterec_steps(steps: int) -> dict:
    from rlhf_envs.recommendation import make_recommendation_env

    env = make_recommendation_env("SlateRec-v0")
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (1024, *env.action_space.shape))
    actions = actions.astype(np.float32)
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        for k in range(steps):
            _, _, terminated, truncated, _ = env.step(actions[k % 1024])
            if terminated or truncated:
                env.reset()
        rates.append(steps / (time.perf_counter() - start))
    return {"slaterec_steps_per_s": round(statistics.median(rates)), "target": 5000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating timing rounds")
    parser.add_argument("--steps", type=int, default=1000, help="VecEnv steps per round")
    parser.add_argument("--vec-env-only", action="store_true",
                        help="print the VecEnv figures as one JSON line, write nothing")
    args = parser.parse_args()
    if args.vec_env_only:
        print(json.dumps(vec_env_ratio(args.rounds, args.steps)))
        return
    write_result("throughput", {
        "vec_env": vec_env_ratio(args.rounds, args.steps),
        "vec_env_unpinned": vec_env_ratio_unpinned(args.rounds, args.steps),
        "clip_rendering": clip_fps(200),
        "slaterec": slaterec_steps(20_000),
        "command": "python -m benchmarks.throughput",
    })


if __name__ == "__main__":
    main()
