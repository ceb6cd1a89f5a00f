"""Reward-model speed: fitting on labelled pairs and predicting in the env loop.

    python -m benchmarks.reward_model

Fit: 1,000 labelled pairs of 50-step HalfCheetah-shaped segments (17-d observations,
6-d actions), an ensemble of 3, one epoch, batch 64; the whole ``fit()`` call, features
included. Predict: one ``predict()`` call on 8 transitions (a VecEnv of 8 envs' step).
Targets on 2 CPU cores: fit <= 0.6 s, predict <= 20 us.
"""

from __future__ import annotations

import argparse

import numpy as np
from gymnasium import spaces

from benchmarks.common import median_seconds, write_result
from feedback.reward_model import RewardModel
from feedback.segments import cut_segments, sample_pairs
from feedback.teachers import make_teacher

OBS_DIM, ACT_DIM, LENGTH = 17, 6, 50


def make_data(n_segments: int, n_pairs: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    steps = n_segments * LENGTH
    segments = cut_segments(rng.normal(size=(steps + 1, OBS_DIM)),
                            rng.uniform(-1, 1, (steps, ACT_DIM)), rng.normal(size=steps))
    pairs = sample_pairs(len(segments), n_pairs, rng)
    answers = make_teacher("oracle").answer_segments(
        [segments[i] for i in pairs[:, 0]], [segments[i] for i in pairs[:, 1]])
    return segments, pairs, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1000, help="labelled pairs to fit on")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions (median)")
    args = parser.parse_args()

    segments, pairs, answers = make_data(400, args.pairs)
    obs_space = spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float64)
    act_space = spaces.Box(-1, 1, (ACT_DIM,), np.float32)

    def fit_once() -> None:
        model = RewardModel(obs_space, act_space, ensemble_size=3)
        model.fit(segments, pairs, answers, epochs=1, heldout_fraction=0.0)

    fit_once()  # warm-up: first-call costs of torch
    fit_seconds = median_seconds(fit_once, args.repeats)

    model = RewardModel(obs_space, act_space, ensemble_size=3)
    model.fit(segments, pairs, answers, epochs=1)
    obs = np.random.default_rng(1).normal(size=(8, OBS_DIM))
    acts = np.random.default_rng(2).uniform(-1, 1, (8, ACT_DIM)).astype(np.float32)
    predict_us = median_seconds(lambda: model.predict(obs, acts), 7, number=2000) * 1e6

    write_result("reward_model", {
        "fit_pairs": args.pairs,
        "segment_length": LENGTH,
        "ensemble_size": 3,
        "epochs": 1,
        "fit_seconds": round(fit_seconds, 4),
        "fit_target_seconds": 0.6,
        "predict_batch": 8,
        "predict_microseconds": round(predict_us, 2),
        "predict_target_microseconds": 20.0,
        "command": "python -m benchmarks.reward_model",
    })


if __name__ == "__main__":
    main()
