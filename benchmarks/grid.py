"""A resumable grid of training runs: envs x algorithms x teachers x label budgets x seeds.

    python -m benchmarks.grid --name reacher --envs Reacher-v0 --labels 100 200 --seeds 5 \\
        --timesteps 98304
    python -m benchmarks.grid --quick          # a grid of minutes, as CI runs it

Every env/algorithm/seed also gets its true-reward cell, the baseline its learned-reward
cells are scored against: normalised score = (learned - random) / (true - random), true
returns throughout. Each cell is one ``python -m agents.train`` run in its own
directory under ``--runs``, one torch thread each, ``--workers`` at once (or, with
``--ray ADDRESS``, as Ray tasks of one CPU each on a cluster). When a cell
finishes, its small results (config, metrics, per-iteration history, wall time, machine;
no checkpoints or videos) are written to ``--results``/NAME/CELL.json, which is meant to
be committed: the same command again, on any machine, counts those cells as done, goes on
with interrupted ones from their checkpoint (``--resume``; one killed before its first
checkpoint starts over, its directory set aside), and runs the rest. A grid
longer than one sitting is finished that way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from agents.run_dir import STATE_FILE, checkpoint_dir
from benchmarks.common import RESULTS, machine
from feedback.files import write_json

ROOT = Path(__file__).parent.parent
TRUE_REWARD = "true_reward"  # the teacher name of a baseline cell
TERM = "term:"  # "term:clicks": the same agent trained on one reward term (a proxy)
QUICK = dict(name="quick", envs=["Reacher-v0"], algos=["ppo"], teachers=["oracle"],
             labels=[20], seeds=1, timesteps=2048, iterations=2, n_envs=2)
ERROR_LINES = 3  # lines of a failed cell's stderr kept in its error
CELL_THREADS = 1  # torch's and BLAS's threads in a cell: cells run side by side


@dataclass(frozen=True)
class Cell:
    """One run of the grid; ``teacher`` is ``true_reward`` for a baseline cell."""

    env: str
    algo: str
    teacher: str
    labels: int
    seed: int
    timesteps: int
    iterations: int | None = None
    n_envs: int | None = None
    query_strategy: str | None = None  # None: agents.train's default

    @property
    def name(self) -> str:
        """A file-name-safe, unique name, e.g. ``Reacher-v0_ppo_oracle-200_seed0``."""
        feedback = (TRUE_REWARD if self.teacher == TRUE_REWARD
                    else self.teacher.replace(":", "-") if self.teacher.startswith(TERM)
                    else f"{self.teacher}-{self.labels}")
        if self.query_strategy is not None and self.teacher != TRUE_REWARD:
            feedback += f"-{self.query_strategy}"
        return f"{self.env}_{self.algo}_{feedback}_seed{self.seed}"

    def baseline(self) -> Cell:
        """The true-reward cell this cell is scored against."""
        return Cell(self.env, self.algo, TRUE_REWARD, 0, self.seed, self.timesteps,
                    self.iterations, self.n_envs)  # no query strategy: it asks nothing

    def command(self, out: Path) -> list[str]:
        """The ``agents.train`` command of this cell; ``--resume`` if it has a checkpoint."""
        argv = [sys.executable, "-m", "agents.train", "--env", self.env, "--algo", self.algo,
                "--seed", str(self.seed), "--timesteps", str(self.timesteps),
                "--threads", str(CELL_THREADS), "--no-progress", "--out", str(out)]
        if self.teacher == TRUE_REWARD:
            argv.append("--true-reward")
        elif self.teacher.startswith(TERM):
            argv += ["--true-reward", "--reward-term", self.teacher.removeprefix(TERM)]
        else:
            argv += ["--teacher", self.teacher, "--labels", str(self.labels)]
        options = (("--iterations", self.iterations), ("--n-envs", self.n_envs),
                   ("--query-strategy", None if self.teacher == TRUE_REWARD
                    else self.query_strategy))
        for flag, value in options:
            if value is not None:
                argv += [flag, str(value)]
        if resumable(out):
            argv.append("--resume")
        return argv


def resumable(out: Path) -> bool:
    """Whether a cell's directory holds a checkpoint ``agents.train --resume`` goes on from."""
    return (checkpoint_dir(out) / STATE_FILE).is_file()


def set_aside_partial(out: Path) -> Path | None:
    """Move what a cell killed before its first checkpoint left to ``NAME.aborted-N``.

    A fresh run in that directory would reuse its store: the labels it had asked count
    as asked, so the run would not ask (nor draw from its seed's query stream) for them
    again. Moved aside, not deleted; returns where it went (None: nothing to move).
    """
    if resumable(out) or not out.is_dir() or not any(out.iterdir()):
        return None
    number = 1
    while (aside := out.with_name(f"{out.name}.aborted-{number}")).exists():
        number += 1
    out.rename(aside)
    return aside


def grid_cells(envs: list[str], algos: list[str], teachers: list[str], labels: list[int],
               seeds: int, timesteps: int, iterations: int | None = None,
               n_envs: int | None = None,
               query_strategies: list[str | None] | None = None,
               first_seed: int = 0) -> list[Cell]:
    """Every cell of a grid, baselines first (their results score the others).

    Seeds run from ``first_seed``: settings are chosen on seeds (100 and up) other than
    the reported ones (0 and up). A ``term:NAME`` teacher is one cell per env, algorithm
    and seed (it asks no labels, so it has no query strategy either).
    """
    strategies = query_strategies or [None]
    learned = list(dict.fromkeys(
        Cell(env, algo, teacher, 0 if teacher.startswith(TERM) else budget, seed, timesteps,
             iterations, n_envs, None if teacher.startswith(TERM) else strategy)
        for env in envs for algo in algos for teacher in teachers
        for budget in labels for strategy in strategies
        for seed in range(first_seed, first_seed + seeds)))
    baselines = list(dict.fromkeys(cell.baseline() for cell in learned))
    return baselines + learned


def run_cell(cell: Cell, runs: Path) -> dict:
    """Run one cell to the end; its results (written by the caller, where the grid runs)."""
    out = runs / cell.name
    env = {**os.environ, "OMP_NUM_THREADS": str(CELL_THREADS)}  # torch and BLAS alike
    set_aside_partial(out)
    started, command = time.monotonic(), cell.command(out)  # before it makes a checkpoint
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()[-ERROR_LINES:]
        raise RuntimeError(f"{cell.name}: exit {done.returncode}: {' | '.join(lines)}")
    return {
        "cell": asdict(cell),
        "metrics": json.loads((out / "metrics.json").read_text()),
        "history": json.loads((out / "history.json").read_text()),
        "wall_seconds_this_sitting": round(time.monotonic() - started, 1),
        "machine": {**machine(), "torch_threads": CELL_THREADS},  # the cell's, not the grid's
        "command": " ".join(command[1:]),  # --resume if this sitting resumed it
    }


def load_results(results: Path) -> dict[str, dict]:
    """The results of every finished cell, by cell name."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(results.glob("*.json"))}


def normalized(result: dict, baseline: dict | None) -> float | None:
    """(learned - random) / (true - random) of a learned cell, from true returns."""
    if baseline is None:
        return None
    learned, random = result["metrics"]["true_return_mean"], result["metrics"][
        "random_return_mean"]
    true = baseline["metrics"]["true_return_mean"]
    return None if abs(true - random) < 1e-8 else (learned - random) / (true - random)


def summary(cells: list[Cell], done: dict[str, dict]) -> list[str]:
    """A Markdown table: per env, algorithm, teacher and budget, the seeds' scores."""
    rows, groups = [], {}
    for cell in cells:
        if cell.teacher != TRUE_REWARD and cell.name in done:
            score = normalized(done[cell.name], done.get(cell.baseline().name))
            teacher = (cell.teacher if cell.query_strategy is None
                       else f"{cell.teacher} ({cell.query_strategy})")
            key = (cell.env, cell.algo, teacher, cell.labels)
            groups.setdefault(key, []).append(score)
    rows.append("| env | algo | teacher | labels | seeds | normalised score (mean) | min | max |")
    rows.append("|---|---|---|---|---|---|---|---|")
    for (env, algo, teacher, labels), scores in groups.items():
        known = [s for s in scores if s is not None]
        figures = [f"{statistics.mean(known):.3f}", f"{min(known):.3f}", f"{max(known):.3f}"] \
            if known else ["n/a"] * 3
        rows.append(f"| {env} | {algo} | {teacher} | {labels} | {len(known)} | "
                    + " | ".join(figures) + " |")
    return rows


def run_grid(cells: list[Cell], runs: Path, results: Path, workers: int,
             progress: bool = True, ray_address: str | None = None
             ) -> tuple[dict[str, dict], list[str]]:
    """Run the cells not yet done, ``workers`` at once (or as Ray tasks, one CPU each, on
    the cluster at ``ray_address``); return all results and errors.

    Each finished cell's results are written here, where the grid runs, as they come.
    """
    results.mkdir(parents=True, exist_ok=True)
    runs.mkdir(parents=True, exist_ok=True)
    done = load_results(results)
    todo = [cell for cell in cells if cell.name not in done]
    errors = []
    finished = _on_ray(todo, runs, ray_address) if ray_address else _in_pool(todo, runs,
                                                                              workers)
    with tqdm(total=len(cells), initial=len(cells) - len(todo), unit="cell",
              disable=not progress) as bar:
        for cell, outcome in finished:
            if isinstance(outcome, Exception):
                errors.append(str(outcome))
            else:
                write_json(results / f"{cell.name}.json", outcome, indent=2)
                done[cell.name] = outcome
            bar.update(1)
    return done, errors


def _in_pool(cells: list[Cell], runs: Path, workers: int):
    """``(cell, results or error)`` as the cells finish, ``workers`` at once, here."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_cell, cell, runs): cell for cell in cells}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except RuntimeError as err:
                yield futures[future], err


def _on_ray(cells: list[Cell], runs: Path, address: str):
    """``(cell, results or error)`` as the cells finish, each a Ray task of one CPU.

    ``address`` is a cluster's (``auto``, ``ray://host:10001``) or ``local`` (a Ray
    instance started here). The project's code travels as the job's working directory;
    every node needs the project's dependencies installed.
    """
    try:
        import ray
    except ImportError:
        raise SystemExit("error: --ray needs Ray: pip install 'rlhf-envs[cluster]'") from None
    excludes = ["runs/", ".venv/", ".git/", "benchmarks/results/"]
    ray.init(address=None if address == "local" else address,
             runtime_env={"working_dir": str(ROOT), "excludes": excludes,
                          "env_vars": {"OMP_NUM_THREADS": "1"}},
             include_dashboard=False, log_to_driver=False)
    try:
        from benchmarks import grid  # by reference: the node imports the shipped module

        task = ray.remote(num_cpus=1, max_retries=0)(grid._run_cell_on_a_node)
        pending = {task.remote(cell, str(runs.relative_to(ROOT)) if runs.is_relative_to(ROOT)
                               else str(runs)): cell for cell in cells}
        while pending:
            [ready], _ = ray.wait(list(pending), num_returns=1)
            cell = pending.pop(ready)
            try:
                yield cell, ray.get(ready)
            except ray.exceptions.RayTaskError as err:
                yield cell, RuntimeError(str(err.cause if err.cause else err).splitlines()[0])
            except ray.exceptions.RayError as err:  # a worker or node died: this cell fails
                yield cell, RuntimeError(f"{cell.name}: {type(err).__name__}: "
                                         f"{str(err).splitlines()[0]}")
    finally:
        ray.shutdown()


def _run_cell_on_a_node(cell: Cell, runs: str) -> dict:
    """A Ray task: run a cell in the job's working directory (a relative ``runs``)."""
    return run_cell(cell, Path(runs) if Path(runs).is_absolute() else Path.cwd() / runs)


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.grid``."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.grid",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--name", default="grid", help="the grid's name: its results folder")
    p.add_argument("--envs", nargs="+", default=["Reacher-v0"], help="env names")
    p.add_argument("--algos", nargs="+", default=["ppo"], help="ppo and/or sac")
    p.add_argument("--teachers", nargs="+", default=["oracle"],
                   help="synthetic teachers, or term:NAME for the agent trained on one reward "
                        "term (e.g. term:clicks, SlateRec's hand-written proxy)")
    p.add_argument("--labels", nargs="+", type=int, default=[200], help="label budgets")
    p.add_argument("--seeds", type=int, default=5, help="how many seeds (default 5)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="seeds run from this one (default 0); choose settings on seeds "
                        "other than the reported ones, e.g. 100")
    p.add_argument("--timesteps", type=int, default=98_304, help="agent steps per run")
    p.add_argument("--query-strategies", nargs="+", default=None,
                   help="how later pairs are chosen (uniform, disagreement, entropy); "
                        "default: agents.train's")
    p.add_argument("--iterations", type=int, default=None, help="refits per run")
    p.add_argument("--n-envs", type=int, default=None, help="parallel envs per run")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="cells at once (default: the cores)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run the cells as Ray tasks, one CPU each, on this cluster ('auto', "
                        "'ray://host:10001', or 'local' for a Ray instance started here); "
                        "results are written here as they come")
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "grid",
                   help="where the cells' run directories go (not committed)")
    p.add_argument("--results", type=Path, default=RESULTS / "grid",
                   help="where the cells' results go, a folder per grid (committed)")
    p.add_argument("--quick", action="store_true",
                   help="a grid of minutes (Reacher, 20 labels, 2,048 steps, one seed)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the grid asked for; print its summary; exit 1 if a cell failed."""
    args = parser().parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    cells = grid_cells(args.envs, args.algos, args.teachers, args.labels, args.seeds,
                       args.timesteps, args.iterations, args.n_envs, args.query_strategies,
                       args.first_seed)
    results = args.results / args.name
    done, errors = run_grid(cells, args.runs / args.name, results, max(1, args.workers),
                            progress=not args.no_progress, ray_address=args.ray)
    print("\n".join(summary(cells, done)))
    print(f"{sum(cell.name in done for cell in cells)} of {len(cells)} cells done; results "
          f"in {results}")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
