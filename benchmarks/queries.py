"""Query selection at one budget: uniform, ensemble disagreement and entropy.

    python -m benchmarks.queries [--env HalfCheetah-v0] [--labels 350] [--seeds 5]
        [--workers N] [--report-only] [--quick]

After the first quarter of the budget (uniform pairs of random-policy clips, as
Christiano et al. 2017), later pairs are chosen among the candidate clips by
``feedback.queries``: ``uniform`` at random, ``disagreement`` where the reward model's
ensemble members disagree most on which clip is better (agents.train's default), or
``entropy`` where the model's preference is closest to a coin flip (B-Pref). Per strategy,
over seeds: agreement with the teacher and with the oracle, and the IQM normalised score
with its 95% interval, oracle teacher. The default strategy's cells are the
``benchmarks.label_efficiency`` cells of that budget (same grid). Writes
``benchmarks/results/queries.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.config import RunConfig
from benchmarks.common import RESULTS
from benchmarks.label_efficiency import MUJOCO_STEPS, collect, grid_arguments, one_budget
from feedback.queries import STRATEGIES

# agents.train's --query-strategy default: the cells that name no strategy
DEFAULT = RunConfig.__dataclass_fields__["query_strategy"].default


def strategy(cell) -> str:
    """A cell's query strategy by name (its default spelt out)."""
    return cell.query_strategy or DEFAULT


def main(argv: list[str] | None = None) -> dict:
    p = grid_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument("--env", default="HalfCheetah-v0")
    p.add_argument("--labels", type=int, default=350)
    p.add_argument("--timesteps", type=int, default=MUJOCO_STEPS)
    p.add_argument("--out", type=Path, default=RESULTS / "queries.json")
    args = p.parse_args(argv)
    # None stands for the default, so its cells are label_efficiency's, not copies.
    strategies = tuple(None if s == DEFAULT else s for s in STRATEGIES)
    domain = one_budget(args, query_strategies=strategies)
    return collect({domain.env: domain}, args, args.out, group=strategy,
                   column="query strategy", plots=False)


if __name__ == "__main__":
    main()
