"""Load test of a team's shared store: 8 annotators, a training run posting queries, kills.

On one store (a throw-away PostgreSQL cluster on a Unix socket, fsync on; then an SQLite
file, with the same processes on this machine): a stand-in training run posts its
queries in batches, as the loop does each iteration, and reads every answer back, as a
refit does; 8 ``feedback.scripted_annotator`` processes claim and answer them
(``--answers`` each, leases of 2 s, 50 ms per answer); after a third of the answers, 3
annotators are killed with SIGKILL and started again. Figures: answers lost
(acknowledged by an annotator, missing from the store: must be 0), pairs answered twice
(must be 0: no overlap share is asked for), leases recovered (claims the killed
processes held, answered later by someone), and the commit latency of an answer (p50,
p95).

    python -m benchmarks.team_store           # writes benchmarks/results/team_store.json
    python -m benchmarks.team_store --quick   # 8 x 20 answers
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, machine
from feedback.files import write_json
from feedback.segments import cut_segments
from feedback.store import FeedbackStore

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the throw-away PostgreSQL cluster of the tests

ANNOTATORS, KILLED, LEASE_SECONDS, BATCHES = 8, 3, 2.0, 8
ANSWER_SECONDS = 0.05  # a "person" looks at each pair this long, holding its lease


def post_queries(address: str, total: int, run_id: str) -> None:
    """The run's segments and its queries, posted in batches."""
    rng = np.random.default_rng(0)
    steps = 2 * total * 5
    segments = cut_segments(rng.normal(size=(steps + 1, 11)), rng.normal(size=(steps, 2)),
                            rng.normal(size=steps), length=5, env_id="bench")
    with FeedbackStore(address) as store:
        store.add_segments(segments)
        for batch in np.array_split(np.arange(total), BATCHES):
            store.add_queries([(segments[2 * k].id, segments[2 * k + 1].id) for k in batch],
                              run_id=run_id)
            store.labels(run_id)  # a refit reads every answer
            time.sleep(0.2)


def annotator(address: str, name: str, answers: int, run_id: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "feedback.scripted_annotator", "--store", address, "--run-id",
         run_id, "--annotator", name, "--answers", str(answers), "--idle", "15",
         "--seconds", str(ANSWER_SECONDS),
         "--lease-seconds", str(LEASE_SECONDS), "--log"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def load_test(address: str, per_annotator: int) -> dict:
    run_id = "load-test"
    FeedbackStore(address).close()
    total = ANNOTATORS * per_annotator
    started = time.perf_counter()
    poster = subprocess.Popen([sys.executable, "-c", f"from benchmarks.team_store import "
                               f"post_queries; post_queries({address!r}, {total}, {run_id!r})"],
                              cwd=ROOT)
    names = [f"annotator-{k}" for k in range(ANNOTATORS)]
    processes = {name: annotator(address, name, per_annotator, run_id) for name in names}
    outputs: dict[str, list[str]] = collections.defaultdict(list)
    held_when_killed: set[int] = set()
    # Kill some once a third of the answers are in; their leases must come back.
    while True:
        with FeedbackStore(address) as store:
            if len(store.labels(run_id)) >= total // 3:
                break
        time.sleep(0.05)
    for name in names[:KILLED]:
        processes[name].send_signal(signal.SIGKILL)
        out, _ = processes[name].communicate()
        outputs[name] += out.splitlines()
    with FeedbackStore(address) as store:
        held_when_killed = {q for q, who, _ in store.leases() if who in names[:KILLED]}
    for name in names[:KILLED]:  # started again: they answer what they have left
        done = sum(line.startswith("answered") for line in outputs[name])
        processes[name] = annotator(address, name, per_annotator - done, run_id)
    for name, process in processes.items():
        out, _ = process.communicate(timeout=600)
        outputs[name] += out.splitlines()
    poster.wait(timeout=60)
    seconds = time.perf_counter() - started

    acknowledged = [(name, int(line.split()[1]), float(line.split()[2]))
                    for name, lines in outputs.items() for line in lines
                    if line.startswith("answered")]
    with FeedbackStore(address) as store:
        stored = {(lab.annotator, lab.query_id) for lab in store.labels(run_id)}
        per_query = collections.Counter(lab.query_id for lab in store.labels(run_id))
        leases_left = len(store.leases())
    latency = np.array([ms for *_, ms in acknowledged])
    return {
        "annotators": ANNOTATORS, "answers_each": per_annotator, "killed": KILLED,
        "queries": total, "answers_acknowledged": len(acknowledged), "answers_stored":
        sum(per_query.values()),
        "answers_lost": sum((name, q) not in stored for name, q, _ in acknowledged),
        "pairs_answered_twice": sum(n > 1 for n in per_query.values()),
        "leases_held_by_killed": len(held_when_killed),
        "leases_recovered": sum(q in per_query for q in held_when_killed),
        "leases_left": leases_left,
        "commit_ms_p50": float(np.percentile(latency, 50)),
        "commit_ms_p95": float(np.percentile(latency, 95)),
        "answers_per_second": len(acknowledged) / seconds, "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS / "team_store.json")
    args = p.parse_args(argv)
    per_annotator = 20 if args.quick else 200
    from postgres_server import PostgresServer

    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    server = PostgresServer.start(durable=True)  # fsync on, as a real server
    try:
        results["postgresql"] = load_test(server.address(server.create_database()),
                                          per_annotator)
    finally:
        server.stop()
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = load_test(str(Path(tmp) / "team.db"), per_annotator)
    write_json(args.out, results)
    for backend in ("postgresql", "sqlite"):
        r = results[backend]
        print(f"{backend}: {r['answers_stored']} answers, lost {r['answers_lost']}, answered "
              f"twice {r['pairs_answered_twice']}, leases recovered {r['leases_recovered']}/"
              f"{r['leases_held_by_killed']}, commit p50 {r['commit_ms_p50']:.1f} ms, p95 "
              f"{r['commit_ms_p95']:.1f} ms")
    return results


if __name__ == "__main__":
    main()
