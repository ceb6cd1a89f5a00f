"""The tables of BENCHMARKS.md's "Every domain learns" from finished grid cells.

Reads the committed results of the grids below (each cell's metrics) and prints, per
env and feedback, the seeds' true return, normalised score, evaluation episode length
and share of episodes that ended by failure (Highway: the crash rate), and for SlateRec
the clicks too. The grids, run again with the same commands, add missing cells:

    python -m benchmarks.grid --name episode_ends --envs Hopper-v0 Walker2d-v0 \\
        --teachers oracle --labels 700 --seeds 3 --timesteps 301056 --workers 2
    python -m benchmarks.grid --name highway --envs Highway-v0 --teachers skip \\
        --labels 200 --seeds 3 --timesteps 15360 --workers 2
    python -m benchmarks.grid --name slate_rec --envs SlateRec-v0 \\
        --teachers oracle term:clicks --labels 350 --seeds 3 --timesteps 200704
    python -m benchmarks.every_domain
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from benchmarks.common import RESULTS
from benchmarks.grid import load_results, normalized

GRIDS = ("episode_ends", "highway", "slate_rec")


def rows(results: dict[str, dict]) -> list[str]:
    """One Markdown row per env and feedback: the seeds' figures, mean first."""
    groups: dict[tuple, list[dict]] = {}
    for result in results.values():
        cell = result["cell"]
        groups.setdefault((cell["env"], cell["teacher"], cell["labels"]), []).append(result)
    lines = []
    for (env, teacher, labels), found in sorted(groups.items()):
        found.sort(key=lambda r: r["cell"]["seed"])
        scores, metrics = [], [r["metrics"] for r in found]
        for result in found:
            cell = result["cell"]
            base_name = f"{cell['env']}_{cell['algo']}_true_reward_seed{cell['seed']}"
            scores.append(normalized(result, results.get(base_name)))

        def figures(key: str, form: str, metrics: list[dict] = metrics) -> str:
            values = [m.get(key) for m in metrics]
            if any(v is None for v in values):
                return "n/a"
            each = ", ".join(form.format(v) for v in values)
            return f"{form.format(statistics.mean(values))} ({each})"

        known = [s for s in scores if s is not None]
        score = (f"{statistics.mean(known):.2f} ({', '.join(f'{s:.2f}' for s in known)})"
                 if known and teacher != "true_reward" else "")
        clicks = [m.get("reward_terms_mean", {}).get("clicks") for m in metrics]
        clicks_text = f"{statistics.mean(clicks):.0f}" if None not in clicks else ""
        feedback = teacher if teacher.startswith(("true_reward", "term:")) else \
            f"{teacher}, {labels} labels"
        return_form = "{:.1f}" if "Highway" in env else "{:.0f}"
        lines.append(f"| {env} | {feedback} | {len(found)} | "
                     f"{figures('true_return_mean', return_form)} | {score} | "
                     f"{figures('episode_length_mean', '{:.0f}')} | "
                     f"{figures('terminated_share', '{:.2f}')} | "
                     f"{figures('reward_agreement_heldout', '{:.2f}')} | {clicks_text} |")
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS / "grid")
    args = p.parse_args(argv)
    lines = ["| env | feedback | seeds | true return, mean (seeds) | normalised score | "
             "episode length | ended share | held-out agreement | clicks |",
             "|---|---|---|---|---|---|---|---|---|"]
    for grid in GRIDS:
        lines += rows(load_results(args.results / grid))
    print("\n".join(lines))
    return lines


if __name__ == "__main__":
    main()
