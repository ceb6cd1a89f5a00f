"""A trained agent evaluated both ways: its most likely action, and sampled as it trained.

    python -m benchmarks.eval_modes RUN [RUN ...] [--episodes 20] [--out FILE]

For each finished ``agents.train`` run directory, the agent in its checkpoint plays the
same evaluation episodes (seeds as the loop's final evaluation) twice on the true env:
deterministically (SB3's default) and sampling its actions. Where the two differ much, a
barely trained policy's argmax is not the policy that was trained: BENCHMARKS.md's
"Highway" section was made with it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import rlhf_envs  # noqa: F401  (registers the ids)
from agents.envs import evaluate
from agents.loop import FINAL_EVAL_SEED
from benchmarks.common import RESULTS, machine
from feedback.files import write_json
from rlhf_envs.labeling import load_run_policy


def both_ways(run: Path, episodes: int) -> dict:
    """One run's evaluation, deterministic and sampled: return, length, share ended."""
    metrics = json.loads((run / "metrics.json").read_text())
    env_id, seed = metrics["env_id"], metrics["seed"] + FINAL_EVAL_SEED
    policy = load_run_policy(run, env_id)
    row = {"run": str(run), "env_id": env_id, "teacher": metrics["teacher"],
           "seed": metrics["seed"], "episodes": episodes}
    for name, deterministic in (("deterministic", True), ("sampled", False)):
        found = evaluate(env_id, episodes, seed, policy, deterministic=deterministic)
        row[name] = {"true_return_mean": sum(found.returns) / episodes,
                     **found.summary()}
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="finished agents.train run directories")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--out", type=Path, default=RESULTS / "eval_modes.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows = [both_ways(run, args.episodes) for run in args.runs]
    write_json(args.out, {"rows": rows, "machine": machine()}, indent=2)
    print("| run | deterministic: return, length, ended | sampled: return, length, ended |")
    print("|---|---|---|")
    for r in rows:
        cells = [f"{r[k]['true_return_mean']:.1f}, {r[k]['episode_length_mean']:.0f}, "
                 f"{r[k]['terminated_share']:.0%}" for k in ("deterministic", "sampled")]
        print(f"| {Path(r['run']).name} | {cells[0]} | {cells[1]} |")
    return rows


if __name__ == "__main__":
    main()
