"""Torch threads: training runs side by side, with torch's threads at the cores or at one.

    python -m benchmarks.threads [--timesteps 40960]

Times two ``agents.train`` runs (Reacher-v0, true reward) started together, first with
``--threads`` at the number of cores (torch's own default), then with one thread each;
and one run alone each way. Wall and CPU seconds go to ``benchmarks/results/threads.json``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import write_result

ROOT = Path(__file__).parent.parent


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(runs: int, threads: int, timesteps: int, tmp: Path) -> dict:
    """Start ``runs`` training runs together; their wall time and CPU seconds."""
    cpu, started = children_cpu(), time.monotonic()
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "agents.train", "--env", "Reacher-v0", "--true-reward",
         "--timesteps", str(timesteps), "--threads", str(threads), "--no-progress",
         "--out", str(tmp / f"t{threads}_{runs}_{k}")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for k in range(runs)]
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit(f"a run failed: {proc.stderr.read().decode()[-500:]}")
    return {"runs": runs, "threads": threads, "wall_seconds": round(time.monotonic() - started, 1),
            "cpu_seconds": round(children_cpu() - cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timesteps", type=int, default=40_960,
                        help="steps per run (default 40960: 20 PPO rollouts on Reacher)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        rows = [timed(runs, threads, args.timesteps, Path(tmp))
                for runs in (2, 1) for threads in (cores, 1)]
    for row in rows:
        print(row, flush=True)
    write_result("threads", {"env_id": "Reacher-v0", "timesteps": args.timesteps,
                             "cores": cores, "rows": rows,
                             "command": "python -m benchmarks.threads"})


if __name__ == "__main__":
    main()
