"""Learning: the learned-reward agent against the same agent on the true reward.

    python -m benchmarks.learning [--env Reacher-v0] [--seeds 4] [--labels 200]

For each seed: a ``--true-reward`` run and a learned-reward run (oracle teacher), same
algorithm, steps and seed; their normalised score, (learned - random) / (true - random),
goes to ``benchmarks/results/learning.json``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import warnings
from pathlib import Path

from agents.loop import RunConfig, run
from benchmarks.common import write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="Reacher-v0", help="env id (default Reacher-v0)")
    parser.add_argument("--algo", default="ppo", help="ppo or sac (default ppo)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds 0..N-1 (default 4)")
    parser.add_argument("--labels", type=int, default=200, help="label budget (default 200)")
    parser.add_argument("--timesteps", type=int, default=98_304,
                        help="steps per agent (default 98304: 48 PPO rollouts on Reacher)")
    parser.add_argument("--teacher", default="oracle", help="synthetic teacher (default oracle)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            common = dict(env_id=args.env, algo=args.algo, timesteps=args.timesteps,
                          seed=seed, progress=False)
            base = Path(tmp) / f"true_{seed}"
            baseline = run(RunConfig(**common, true_reward=True, out=base))
            learned = run(RunConfig(**common, teacher=args.teacher, labels=args.labels,
                                    out=Path(tmp) / f"learned_{seed}", baseline=base))
            rows.append({
                "seed": seed,
                "true_reward_agent_return": round(baseline["true_return_mean"], 3),
                "learned_reward_agent_return": round(learned["true_return_mean"], 3),
                "random_return": round(learned["random_return_mean"], 3),
                "normalized_score": round(learned["normalized_score"], 3),
                "labels_used": learned["labels_used"],
                "heldout_agreement": learned["reward_agreement_heldout"],
            })
            print(rows[-1], flush=True)
    scores = [r["normalized_score"] for r in rows]
    write_result("learning", {
        "env_id": args.env, "algo": args.algo, "teacher": args.teacher,
        "labels": args.labels, "timesteps": args.timesteps,
        "normalized_score_mean": round(statistics.mean(scores), 3),
        "normalized_score_min": min(scores),
        "runs": rows,
        "command": "python -m benchmarks.learning",
    })


if __name__ == "__main__":
    main()
