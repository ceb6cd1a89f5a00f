r"""``python -m agents.train``: train an agent on a learned (or the true) reward.

    python -m agents.train --env Reacher-v0 --algo ppo --teacher oracle --labels 200 \
        --timesteps 98304 --out runs/reacher

Every option, its default and its check live in :class:`agents.config.RunConfig`. Bad
input ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys

from agents.config import RunConfig, build_parser, config_from_args
from agents.loop import run
from feedback.cli import run_cli


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m agents.train``; returns the exit code (2: bad input)."""
    config = config_from_args(build_parser().parse_args(argv))
    return run_cli(lambda: train(config))


def train(config: RunConfig) -> None:
    """Run the training and print its outcome in two lines."""
    metrics = run(config)
    score = metrics.get("normalized_score")
    print(f"true return {metrics['true_return_mean']:.2f} (random "
          f"{metrics['random_return_mean']:.2f}), labels {metrics['labels_used']}, "
          f"{metrics['timesteps']} steps"
          + (f", normalised score {score:.2f}" if score is not None else ""))
    print(f"report: {config.out / 'report.md'}")


if __name__ == "__main__":
    sys.exit(main())
