"""Label efficiency: normalised score against label budget, per domain, IQM and 95% CI.

    python -m benchmarks.label_efficiency [--domains HalfCheetah-v0-ppo ...] [--seeds 5]
        [--budgets 700 ...] [--workers N] [--report-only] [--quick]

``--domains`` and ``--budgets`` choose which cells run; the report and plots always sum
up every domain's cells done.

Each domain is a resumable grid (``benchmarks.grid``): for every seed, a true-reward
agent and one learned-reward agent per budget (oracle teacher), same algorithm,
hyper-parameters (``agents/hyperparams.py``), steps and seed. Score: (learned - random) /
(true - random), true returns throughout, aggregated over seeds as the interquartile mean
with a 95% stratified-bootstrap interval (``benchmarks.stats``); and the same against
the seeds' mean true-reward return, which a weak baseline seed cannot inflate. Beside it,
per budget: held-out agreement with the teacher, agreement with the oracle on the agent's fresh
segments, and the loop's cost (each learned-reward cell's CPU time over its true-reward
cell's). Highway adds the crash rate and the speed term, SlateRec the watch time of an
agent trained on clicks (its hand-written proxy).

Run the same command again to finish a grid in later sittings: finished cells' results
are committed under ``benchmarks/results/grid/ENV-ALGO-STEPS/``.
``--report-only`` runs nothing and sums up what is there. Writes
``benchmarks/results/label_efficiency.json``, ``label_efficiency.png`` (score against
labels with the intervals as bands) and ``label_efficiency_curves.png`` (both agents'
true return over training, so a reader sees whether they converged).
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.cell_scores import AGREEMENT_LABELS, by_labels, score_rows
from benchmarks.common import RESULTS, machine
from benchmarks.grid import ROOT as PROJECT
from benchmarks.grid import TERM, TRUE_REWARD, Cell, grid_cells, load_results, run_grid
from feedback.answers import EQUAL, SKIP
from feedback.files import write_json


@dataclass(frozen=True)
class Domain:
    """One env and algorithm's grid: budgets, steps, and the cells beside the learned ones.

    :param env: our env name
    :param algo: ``ppo`` or ``sac``
    :param budgets: label budgets, one learned-reward cell per budget and seed
    :param timesteps: agent steps per run (rl-zoo3's budget where it is affordable here)
    :param teachers: synthetic teachers (one cell per budget each), or ``term:NAME``
    :param query_strategies: None for agents.train's default
    :param iterations: refits per run (None: the env's default)
    :param n_envs: parallel envs per run (None: the env's default)
    """

    env: str
    algo: str
    budgets: tuple[int, ...]
    timesteps: int
    teachers: tuple[str, ...] = ("oracle",)
    query_strategies: tuple[str | None, ...] | None = None  # None in it: the default
    iterations: int | None = None
    n_envs: int | None = None
    name: str = field(default="")

    @property
    def grid(self) -> str:
        """The grid's name: its results folder under ``benchmarks/results/grid``.

        Named by env, algorithm and steps, not by script: a cell of the same config is the
        same run, so label_efficiency, teachers and queries share their baselines (and the
        oracle cells they have in common).
        """
        return self.name or f"{self.env}-{self.algo}-{self.timesteps}"

    def cells(self, seeds: int) -> list[Cell]:
        """The grid's cells, baselines first."""
        return grid_cells([self.env], [self.algo], list(self.teachers), list(self.budgets),
                          seeds, self.timesteps, self.iterations, self.n_envs,
                          list(self.query_strategies) if self.query_strategies else None)


# Not rl-zoo3's 1M PPO steps: its rows' small minibatches (64 or 32, 5-20 epochs) make a
# step cost about 4 ms on one core here (HalfCheetah's row: 16,384 true-reward steps took
# 86 s alone, evaluation included), so a 1M-step run takes over an hour and a domain's 25
# cells some 30 core-hours. At 301,056 steps (588 rollouts of 512) a HalfCheetah
# true-reward cell takes about 22 minutes of CPU and ends at 3,400-5,100 (seeds 0-4),
# still climbing: the learning curves show how far each agent got.
MUJOCO_STEPS = 301_056
# Hopper runs ppo.yml's &mujoco-defaults (agents/hyperparams.py says why) at rl-zoo3's
# 1M steps (489 rollouts of 2,048), about 17 minutes of CPU a true-reward run: its
# row's large rollouts make a step cost a quarter of the tuned rows'. At 301,056 steps
# its true-reward agents were still climbing and weak on the reported seeds; those cells
# stay as the record (Hopper-v0-ppo-301056), as do the tuned Hopper-v3 row's, which
# stand still (benchmarks/results/grid/Hopper-v0-ppo-zoo-301056/ and -zoo-1001472/).
# At 1M steps the loop refits 27 times (agents/hyperparams.py's max_steps_per_iteration);
# its first 700-label cells, with 8 refits 125k steps apart, stay as the record
# (Hopper-v0-ppo-1001472-8refits, beside copies of the baselines they were scored with).
HOPPER_STEPS = 1_001_472
DOMAINS = {d.name or f"{d.env}-{d.algo}": d for d in (
    Domain("HalfCheetah-v0", "ppo", (100, 350, 700, 1400), MUJOCO_STEPS),
    Domain("Hopper-v0", "ppo", (100, 350, 700, 1400), HOPPER_STEPS),
    Domain("Hopper-v0", "ppo", (700,), HOPPER_STEPS, iterations=8,
           name="Hopper-v0-ppo-1001472-8refits"),
    Domain("Hopper-v0", "ppo", (100, 350, 700, 1400), MUJOCO_STEPS,
           name="Hopper-v0-ppo-301056"),
    Domain("Walker2d-v0", "ppo", (100, 350, 700, 1400), MUJOCO_STEPS),
    # SAC steps one env at a time with a gradient step each: about 60 steps/s here, so
    # 100k steps are about half an hour.
    Domain("HalfCheetah-v0", "sac", (700,), 100_000),
    # highway-env steps at about 70/s: 15,360 steps are about 4 minutes of driving a run.
    # 700 labels: the one budget past 500, where held-out agreement is read.
    Domain("Highway-v0", "ppo", (50, 100, 200, 700), 15_360),
    Domain("SlateRec-v0", "ppo", (100, 350, 700), 200_704, teachers=("oracle", "term:clicks")),
)}
QUICK = Domain("Reacher-v0", "ppo", (10, 20), 2_048, iterations=2, n_envs=2, name="quick")
QUICK_SEEDS = 2
SEEDS = 5  # the committed grids' seeds: a domain that does not run this sitting is read at it


def table(domain: str, rows: list[dict], timesteps: int, column: str = "labels") -> list[str]:
    """A domain's Markdown table, one line per group (and per proxy-trained agent)."""
    lines = [f"**{domain}**, {timesteps:,} steps per run:", "",
             f"| feedback | {column} | seeds | IQM score [95% CI] | "
             "against the mean baseline | learned / true / random return | "
             "agreement: teacher, oracle | loop cost (CPU) | ended (true agent) | speed term |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["teacher"].startswith(TERM), _order(r["group"]))):
        score = (f"{r['score_iqm']:.2f} [{r['score_low']:.2f}, {r['score_high']:.2f}]"
                 if "score_iqm" in r else "")
        against_mean = (f"{r['mean_base_iqm']:.2f} [{r['mean_base_low']:.2f}, "
                        f"{r['mean_base_high']:.2f}]" if "mean_base_iqm" in r else "")
        agree = " / ".join("n/a" if r[k] is None else f"{r[k]:.2f}"
                           for k in ("heldout_agreement", "oracle_agreement"))
        ended = ("" if r["terminated_share"] is None else
                 f"{r['terminated_share']:.0%} ({r['true_terminated_share']:.0%})")
        cost = ("n/a (other machines)" if r["loop_cost"] is None else f"{r['loop_cost']:.2f}x"
                + ("" if r["loop_cost_of"] == "cpu_seconds" else " (wall)"))
        speed = ("" if r["speed_term"] is None else
                 f"{r['speed_term']:.2f} ({r['true_speed_term']:.2f})")
        lines.append(f"| {r['teacher']} | {r['group']} | {r['seeds']} | {score} | "
                     f"{against_mean} | "
                     f"{r['learned_return']:.1f} / {r['true_return']:.1f} / "
                     f"{r['random_return']:.1f} | {agree} | {cost} | {ended} | "
                     f"{speed} |")
    for r in rows:
        if r.get("feedback_share") is not None:
            lines.append(f"\n{r['teacher']} {r['group']}: the feedback steps (asking, "
                         "refits, monitoring) took "
                         f"{r['feedback_share']:.1%} of the runs' loop CPU time")
        # Only where some labels were ties or skips: an all-preference split says nothing.
        if r.get("answers") and (r["answers"]["shares"][EQUAL] or r["answers"]["shares"][SKIP]):
            runs, shares = r["answers"]["runs"], r["answers"]["shares"]
            lines.append(f"\n{r['teacher']} {r['group']}: the labels by answer ({runs} "
                         f"run{'' if runs == 1 else 's'} recording them): "
                         + ", ".join(f"{name} {share:.1%}" for name, share in shares.items()))
        if r.get("twin_correlation") is not None:
            lines.append(f"\n{r['teacher']} {r['group']}: a seed's two agents' true returns "
                         f"correlate at r = {r['twin_correlation']:.2f} over seeds (near 1: "
                         "the per-seed score reads steadier; near 0 or below: the other)")
        if r.get("loop_cost_split") is not None:
            lines.append(f"\n{r['teacher']} {r['group']}: loop cost with each run's agent "
                         f"steps costed as its baseline's: {r['loop_cost_split']:.2f}x")
        if r.get("at_labels_heldout_agreement") is not None:
            seeds = r["at_labels_seeds"]
            lines.append(f"\n{r['teacher']} {r['group']}: agreement at the first refit with "
                         f"at least {AGREEMENT_LABELS} labels ({r['at_labels']:.0f} on average, "
                         f"{seeds} seed{'' if seeds == 1 else 's'}): held-out "
                         f"{r['at_labels_heldout_agreement']:.2f}, oracle "
                         + ("n/a" if r["at_labels_oracle_agreement"] is None
                            else f"{r['at_labels_oracle_agreement']:.2f}"))
    return lines


def _order(group: object) -> tuple:
    """Budgets in numeric order (100 before 350), other groups by name."""
    return (0, group, "") if isinstance(group, int) else (1, 0, str(group))


def curves(cells: list[Cell], done: dict[str, dict]) -> dict[str, list[tuple[int, float]]]:
    """Mean true return of the agents' recent episodes per iteration, per feedback."""
    by: dict[str, dict[int, list[float]]] = {}
    for cell in cells:
        if cell.name not in done:
            continue
        label = cell.teacher if cell.teacher in (TRUE_REWARD,) or cell.teacher.startswith(
            TERM) else f"{cell.teacher} {cell.labels}"
        for h in done[cell.name]["history"]:
            if h.get("true_return_mean") is not None:
                by.setdefault(label, {}).setdefault(h["timesteps"], []).append(
                    h["true_return_mean"])
    return {k: sorted((t, statistics.mean(v)) for t, v in points.items())
            for k, points in by.items()}


def plot(report: dict, out: Path) -> list[Path]:
    """Score against labels (both scores, with their 95% CIs) and learning curves, a panel a domain
    with a cell done, three panels a row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, found in report["domains"].items() if found["cells_done"]] or list(
        report["domains"])[:1]
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    written = []
    for suffix, draw in (("", _draw_scores), ("_curves", _draw_curves)):
        fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows),
                                 squeeze=False)
        for ax, name in zip(axes.flat, names):
            draw(ax, name, report["domains"][name])
        for ax in axes.flat[len(names):]:
            ax.set_visible(False)
        if draw is _draw_scores:  # the same series in every panel: one legend
            handles = {label: h for ax in axes.flat
                       for h, label in zip(*ax.get_legend_handles_labels())}
            fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=3,
                       fontsize=8)
            fig.tight_layout(rect=(0, 0.07 / rows, 1, 1))
        else:
            fig.tight_layout()
        path = out.with_name(f"{out.stem}{suffix}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def _draw_scores(ax, name: str, found: dict) -> None:
    """Both IQM scores against labels, each with its 95% interval as error bars (a band
    too, once there are two budgets to join)."""
    rows = sorted((r for r in found["rows"] if "score_iqm" in r), key=lambda r: r["group"])
    x = [r["group"] for r in rows]
    # The second series a little to the right (the axis is logarithmic) so bars show.
    for key, label, shift, style in (
            ("score", "per-seed baseline", 1.0, dict(fmt="o-", color="C0")),
            ("mean_base", "mean baseline", 1.04, dict(fmt="s:", color="C2", ms=4))):
        drawn = [r for r in rows if f"{key}_iqm" in r]
        if not drawn:
            continue
        point = [r[f"{key}_iqm"] for r in drawn]
        low, high = [r[f"{key}_low"] for r in drawn], [r[f"{key}_high"] for r in drawn]
        at = [r["group"] * shift for r in drawn]
        ax.errorbar(at, point, yerr=[[p - lo for p, lo in zip(point, low)],
                                    [hi - p for p, hi in zip(point, high)]],
                    capsize=3, label=f"IQM against the {label}, 95% CI", **style)
        if len(at) > 1:
            ax.fill_between(at, low, high, alpha=0.15, color=style["color"])
    if x:
        ax.set_xscale("log")
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_xlim(min(x) / 1.4, max(x) * 1.4)
        ax.minorticks_off()
    ax.axhline(1.0, color="grey", ls="--", lw=1, label="true-reward agent")
    ax.set(title=name, xlabel="labels", ylabel="normalised score")


def _draw_curves(ax, name: str, found: dict) -> None:
    for label, points in found["curves"].items():
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], label=label)
    ax.set(title=name, xlabel="agent steps", ylabel="true return (recent episodes)")
    if found["curves"]:  # a domain with no cell done yet has nothing to name
        ax.legend(fontsize=7)


def grid_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The command-line options every domain script shares."""
    p.add_argument("--seeds", type=int, default=SEEDS,
                   help=f"seeds 0..N-1 of the grids that run (default {SEEDS})")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--report-only", action="store_true", help="run nothing; sum up results")
    p.add_argument("--quick", action="store_true",
                   help="a grid of minutes on Reacher, as CI runs (2 seeds, 2,048 steps)")
    p.add_argument("--runs", type=Path, default=PROJECT / "runs" / "grid")
    p.add_argument("--results", type=Path, default=RESULTS / "grid")
    p.add_argument("--no-progress", action="store_true")
    return p


def one_budget(args: argparse.Namespace, **fields) -> Domain:
    """The one-budget domain of ``teachers`` and ``queries``: ``args.env`` at ``--labels``
    and ``--timesteps``, or with ``--quick`` the quick grid's env at its larger budget.

    :param fields: further :class:`Domain` fields (its teachers, query strategies)
    """
    if args.quick:
        return Domain(QUICK.env, QUICK.algo, (QUICK.budgets[-1],), QUICK.timesteps,
                      iterations=QUICK.iterations, n_envs=QUICK.n_envs, name=QUICK.name,
                      **fields)
    return Domain(args.env, "ppo", (args.labels,), args.timesteps, **fields)


def collect(domains: dict[str, Domain], args: argparse.Namespace, out: Path,
            group=by_labels, column: str = "labels", plots: bool = True,
            this_sitting=lambda cell: True, run: set[str] | None = None) -> dict:
    """Run (or with ``--report-only`` only read) each domain's grid, print its table,
    write the report (and with ``plots`` its figures) to ``out``; the report.

    :param run: the domains whose grids to run (None: all); the report covers every domain,
        so that running one domain's grid does not drop the others from the report
    :param group: what a table line gathers, of a cell (default: its label budget)
    :param column: the table's name for that
    :param this_sitting: which cells to run now (the baselines, proxy-trained ones included,
        always); the report sums up every cell done
    """
    report = {"domains": {}, "errors": [], "machine": machine()}
    for name, domain in domains.items():
        asked = run is None or name in run
        ran = asked and not args.report_only
        # --seeds is for the grids this sitting runs (or, with --report-only, reads); the
        # domains summed up beside them are read at the committed grids' seeds
        seeds = (QUICK_SEEDS if args.quick
                 else args.seeds if asked or args.report_only else SEEDS)
        cells = domain.cells(seeds)
        results = args.results / domain.grid
        if ran:
            # Baselines always: the true-reward cells and the proxy-trained ones (no labels).
            todo = [c for c in cells if c.teacher == TRUE_REWARD or c.teacher.startswith(TERM)
                    or this_sitting(c)]
            report["errors"] += run_grid(todo, args.runs / domain.grid, results,
                                         max(1, args.workers),
                                         progress=not args.no_progress)[1]
        done = load_results(results)
        rows = score_rows(cells, done, group)
        report["domains"][name] = {
            "env": domain.env, "algo": domain.algo, "timesteps": domain.timesteps,
            "seeds": seeds,
            "grid": domain.grid, "cells_done": sum(c.name in done for c in cells),
            "cells": len(cells), "rows": rows, "curves": curves(cells, done)}
        print("\n".join(table(name, rows, domain.timesteps, column)))
        print(f"{report['domains'][name]['cells_done']} of {len(cells)} cells done\n")
    write_json(out, report, indent=2)
    if plots:
        for path in plot(report, out):
            print(f"wrote {path}")
    for error in report["errors"]:
        print(f"error: {error}")
    return report


def main(argv: list[str] | None = None) -> dict:
    p = grid_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=list(DOMAINS),
                   help="run these domains' grids (the report sums up every domain)")
    p.add_argument("--budgets", nargs="+", type=int, default=None,
                   help="run only these budgets' cells (and the baselines) this sitting; "
                        "the report sums up every budget done")
    p.add_argument("--out", type=Path, default=RESULTS / "label_efficiency.json")
    args = p.parse_args(argv)
    asked = {"quick": QUICK} if args.quick else {n: DOMAINS[n] for n in args.domains}
    for budget in args.budgets or ():
        if not any(budget in d.budgets for d in asked.values()):
            p.error(f"--budgets {budget}: no domain asked has that budget (theirs: "
                    + "; ".join(f"{n} {list(d.budgets)}" for n, d in asked.items()) + ")")
    return collect(asked if args.quick else DOMAINS, args, args.out, run=set(asked),
                   this_sitting=lambda c: args.budgets is None or c.labels in args.budgets)


if __name__ == "__main__":
    main()
