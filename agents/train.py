"""``python -m agents.train``: train an agent on a learned (or the true) reward.

    python -m agents.train --env Reacher-v0 --algo ppo --teacher oracle --labels 200 \\
        --timesteps 50000 --out runs/reacher

Bad input ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agents.loop import ALGOS, STORE_TEACHER, RunConfig, run
from feedback.cli import OneLineParser
from feedback.errors import FeedbackError
from feedback.teachers import TEACHER_PRESETS
from rlhf_envs import ENV_IDS


def parser() -> OneLineParser:
    p = OneLineParser(
        prog="python -m agents.train",
        description="Train a Stable-Baselines3 agent on a reward model learned from clip "
                    "comparisons, and report how close it gets to the true-reward agent.")
    p.add_argument("--env", required=True,
                   help=f"env id, with or without 'rlhf_envs/': {', '.join(ENV_IDS)}")
    p.add_argument("--algo", default="ppo", help=f"agent: {' or '.join(ALGOS)} (default ppo)")
    p.add_argument("--teacher", default="oracle",
                   help="who answers comparisons: a synthetic teacher "
                        f"({', '.join(TEACHER_PRESETS)}), 'human' (you, in a window that "
                        f"opens at each iteration), or '{STORE_TEACHER}' to use only "
                        "feedback already in the run's feedback.db (default oracle)")
    p.add_argument("--annotator", default=os.environ.get("USER", "annotator"),
                   help="your name with --teacher human, stored with each answer "
                        "(default $USER)")
    p.add_argument("--labels", type=int, default=200, help="total label budget (default 200)")
    p.add_argument("--timesteps", type=int, default=50_000,
                   help="agent environment steps in all (default 50000)")
    p.add_argument("--seed", type=int, default=0, help="seed of envs, agent, teacher (default 0)")
    p.add_argument("--n-envs", type=int, default=None,
                   help="parallel envs (default: the env's row of agents/hyperparams.py)")
    p.add_argument("--iterations", type=int, default=None,
                   help="reward-model refits over the run (default: hyperparams table)")
    p.add_argument("--query-strategy", default="disagreement",
                   choices=["uniform", "disagreement", "entropy"],
                   help="how later pairs are chosen (default disagreement)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--out", type=Path, default=Path("runs/latest"),
                   help="run directory: metrics.json, report.md, policy.zip, feedback.db, ...")
    p.add_argument("--true-reward", action="store_true",
                   help="train the same agent on the hidden task reward (the baseline)")
    p.add_argument("--baseline", type=Path, default=None,
                   help="a --true-reward run directory; its return gives the normalised score")
    p.add_argument("--resume", action="store_true",
                   help="go on from the last checkpoint in --out (no label is asked twice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = RunConfig(
        env_id=args.env, algo=args.algo, teacher=args.teacher, labels=args.labels,
        timesteps=args.timesteps, seed=args.seed, n_envs=args.n_envs, device=args.device,
        out=args.out, true_reward=args.true_reward, resume=args.resume,
        baseline=args.baseline, query_strategy=args.query_strategy,
        iterations=args.iterations, progress=not args.no_progress, annotator=args.annotator)
    try:
        metrics = run(config)
    except FeedbackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    score = metrics.get("normalized_score")
    print(f"true return {metrics['true_return_mean']:.2f} (random "
          f"{metrics['random_return_mean']:.2f}), labels {metrics['labels_used']}"
          + (f", normalised score {score:.2f}" if score is not None else ""))
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
