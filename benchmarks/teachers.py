"""The six synthetic teachers at one budget: agreement with the oracle, normalised score.

    python -m benchmarks.teachers [--env HalfCheetah-v0] [--labels 700] [--seeds 5]
        [--teachers mistake ...] [--workers N] [--report-only] [--quick]

B-Pref's teachers (Lee et al. 2021), each the oracle with one flaw: ``bradley_terry``
(stochastic, beta 1), ``myopic`` (discounts the early steps, gamma 0.9), ``mistake`` (10%
flipped), ``skip`` (skips 10%) and ``equal`` (calls 10% a tie); see
``feedback.teachers.TEACHER_PRESETS``. Per teacher, over seeds: held-out agreement with the
teacher's own labels, agreement with the oracle on the agent's fresh segments, and the
IQM normalised score with its 95% interval. The cells share their grid (and baselines, and
the oracle cells) with ``benchmarks.label_efficiency``. Writes
``benchmarks/results/teachers.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import RESULTS
from benchmarks.label_efficiency import MUJOCO_STEPS, collect, grid_arguments, one_budget
from feedback.teachers import TEACHER_PRESETS


def main(argv: list[str] | None = None) -> dict:
    p = grid_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument("--env", default="HalfCheetah-v0")
    p.add_argument("--labels", type=int, default=700)
    p.add_argument("--timesteps", type=int, default=MUJOCO_STEPS)
    p.add_argument("--teachers", nargs="+", choices=list(TEACHER_PRESETS), default=None,
                   help="run only these teachers' cells (and the baselines) this sitting; "
                        "the report sums up every teacher done")
    p.add_argument("--out", type=Path, default=RESULTS / "teachers.json")
    args = p.parse_args(argv)
    domain = one_budget(args, teachers=tuple(TEACHER_PRESETS))
    return collect({domain.env: domain}, args, args.out, group=lambda c: c.labels,
                   column="labels", plots=False,
                   this_sitting=lambda c: args.teachers is None or c.teacher in args.teachers)


if __name__ == "__main__":
    main()
