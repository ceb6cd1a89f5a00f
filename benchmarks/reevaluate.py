"""A grid's final agents evaluated again on many episodes: what the loop's own final
evaluation (20 episodes an agent on Highway) is too small to settle, such as whether a
learned-reward agent crashes within 5 points as often as the true-reward one.

    python -m benchmarks.reevaluate RUNS [--episodes 200] [--out FILE]

RUNS is a grid's run folder (``runs/grid/GRID``): every finished ``agents.train`` run in it
(``metrics.json`` and the final ``checkpoint/agent``). Each agent plays ``--episodes``
episodes on the true env, acting as its final evaluation did (most likely or sampled
actions), reset with seeds ``seed + REEVALUATION_SEED + k``: apart from the final
evaluation's and the random policy's, and the same for every agent of a seed.

Runs are grouped by their cell without the seed (``oracle-200``, ``true_reward``). Each
group's figure is the mean over its seeds of each agent's mean; its difference from the
true-reward group comes with a 95% interval from a two-level bootstrap: the seeds of each
group resampled on their own (a seed's two agents need not covary), then each drawn
agent's episodes. Results are written after every agent, and a rerun with the same
``--episodes`` evaluates only the agents not yet in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import re
import zlib
from pathlib import Path

import numpy as np
import torch

import rlhf_envs  # noqa: F401  (registers the ids)
from agents.envs import evaluate
from benchmarks.common import RESULTS, machine
from benchmarks.grid import TRUE_REWARD
from benchmarks.stats import REPS, interval
from feedback.files import write_json
from rlhf_envs.labeling import load_run_policy

REEVALUATION_SEED = 30_000  # the loop's evaluations use seed + 10,000 and seed + 20,000
FIGURES = {"terminated_share": "terminated", "true_return_mean": "returns"}


def reevaluate(run: Path, episodes: int) -> dict:
    """One finished run's agent over ``episodes`` episodes: per-episode returns and ends."""
    metrics = json.loads((run / "metrics.json").read_text())
    env_id, seed = metrics["env_id"], metrics["seed"] + REEVALUATION_SEED
    deterministic = metrics.get("eval_deterministic", True)
    policy = load_run_policy(run, env_id)
    found = evaluate(env_id, episodes, seed, policy, deterministic=deterministic)
    return {"group": group_of(run.name), "seed": metrics["seed"], "env_id": env_id,
            "episodes": episodes, "deterministic": deterministic,
            "returns": [round(float(r), 4) for r in found.returns],
            "terminated": [bool(t) for t in found.terminated],
            "lengths": [int(n) for n in found.lengths]}


def group_of(name: str) -> str:
    """A run's cell without env, algorithm and seed: ``oracle-200``, ``true_reward``."""
    cell = re.sub(r"_seed\d+$", "", name)
    return cell.split("_", 2)[2] if cell.count("_") >= 2 else cell


def group_order(group: str) -> list:
    """Sort key of a group: labels as numbers (``oracle-50`` before ``oracle-200``)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", group)]


def side_draws(agents: list[np.ndarray], rng: np.random.Generator, reps: int) -> np.ndarray:
    """Bootstrap draws of the mean over agents of each agent's mean: agents resampled,
    then each drawn agent's episodes."""
    draws = np.empty(reps)
    for k in range(reps):
        picked = [agents[i] for i in rng.integers(0, len(agents), len(agents))]
        draws[k] = np.mean([a[rng.integers(0, len(a), len(a))].mean() for a in picked])
    return draws


def compare(runs: list[dict], reps: int = REPS, seed: int = 0) -> dict:
    """Each group's mean of each figure over its seeds, and its difference from the
    true-reward group with a 95% two-level bootstrap interval."""
    groups: dict[str, list[dict]] = {}
    for run in sorted(runs, key=lambda r: (group_order(r["group"]), r["seed"])):
        groups.setdefault(run["group"], []).append(run)
    base = groups.get(TRUE_REWARD)
    table = {}
    for name, members in groups.items():
        row: dict = {"seeds": [m["seed"] for m in members],
                     "episodes": sum(m["episodes"] for m in members)}
        for figure, key in FIGURES.items():
            agents = [np.asarray(m[key], dtype=np.float64) for m in members]
            row[figure] = float(np.mean([a.mean() for a in agents]))
            if base is not None and name != TRUE_REWARD:
                theirs = [np.asarray(m[key], dtype=np.float64) for m in base]
                # a stream of its own: a cell's interval does not move as other cells join
                rng = np.random.default_rng([seed, zlib.crc32(f"{name}/{figure}".encode())])
                diff = side_draws(agents, rng, reps) - side_draws(theirs, rng, reps)
                point = row[figure] - float(np.mean([a.mean() for a in theirs]))
                row[f"{figure}_difference"] = [point, *interval(diff)]
        table[name] = row
    return table


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=Path, help="a grid's run folder (runs/grid/GRID)")
    p.add_argument("--episodes", type=int, default=200, help="episodes an agent (200)")
    p.add_argument("--out", type=Path, default=None,
                   help="result file (default benchmarks/results/reevaluate_GRID.json)")
    args = p.parse_args(argv)
    if args.episodes < 1:
        p.error("--episodes must be at least 1")
    finished = sorted(run for run in args.runs.glob("*")
                      if (run / "metrics.json").is_file() and (run / "checkpoint").is_dir())
    if not finished:
        p.error(f"{args.runs}: no finished run (metrics.json and checkpoint/) in it")
    out = args.out or RESULTS / f"reevaluate_{args.runs.name}.json"
    kept = json.loads(out.read_text()).get("runs", {}) if out.is_file() else {}
    kept = {name: r for name, r in kept.items() if r["episodes"] == args.episodes}
    torch.set_num_threads(1)
    report = {"grid": args.runs.name, "episodes": args.episodes,
              "seed_offset": REEVALUATION_SEED, "runs": kept}
    for run in finished:
        if run.name not in kept:
            report["runs"][run.name] = reevaluate(run, args.episodes)
            print(f"{run.name}: ended {np.mean(report['runs'][run.name]['terminated']):.1%}",
                  flush=True)
            write_json(out, {**report, "machine": machine()}, indent=1)
    report["groups"] = compare(list(report["runs"].values()))
    write_json(out, {**report, "machine": machine()}, indent=1)
    print("| cell | seeds | episodes | ended | against true reward [95% CI] | return | "
          "against true reward [95% CI] |")
    print("|---|---|---|---|---|---|---|")
    for name, row in report["groups"].items():
        cells = [f"{row['terminated_share']:.1%}"]
        for figure in FIGURES:
            d = row.get(f"{figure}_difference")
            spec = "+.1%" if figure == "terminated_share" else "+.2f"
            if figure != "terminated_share":
                cells.append(f"{row[figure]:.2f}")
            cells.append("" if d is None else
                         f"{format(d[0], spec)} [{format(d[1], spec)}, {format(d[2], spec)}]")
        print(f"| {name} | {len(row['seeds'])} | {row['episodes']} | " + " | ".join(cells) + " |")
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
