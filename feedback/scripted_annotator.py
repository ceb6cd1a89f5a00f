r"""``python -m feedback.scripted_annotator``: a stand-in for a person in a team's store.

Claims a run's queries one by one, exactly as a person's labeling session does (under a
lease, with an ``--overlap-share`` of pairs others answered), answers each with a
synthetic teacher after ``--seconds``, and ends once nothing has been free for
``--idle`` seconds or ``--answers`` are given. For load tests, end-to-end tests and
demos of ``agents.train --teacher people``; no window, no env needed::

    python -m feedback.scripted_annotator --store postgresql://host/db --run-id RUN \
        --annotator bot-1 --teacher oracle --seconds 0.5
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from feedback.cli import OneLineParser, run_cli
from feedback.errors import FeedbackError
from feedback.store import SYNTHETIC, FeedbackStore
from feedback.store.work import LEASE_SECONDS
from feedback.teachers import TEACHER_PRESETS, make_teacher


def parser() -> OneLineParser:
    """The command line (bad input: one line, exit code 2)."""
    p = OneLineParser(prog="python -m feedback.scripted_annotator",
                      description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True, help="the shared store's address")
    p.add_argument("--run-id", required=True, help="the run whose queries to answer")
    p.add_argument("--annotator", required=True, help="the name stored with each answer")
    p.add_argument("--teacher", default="oracle",
                   help=f"how to answer: {', '.join(TEACHER_PRESETS)} (default oracle)")
    p.add_argument("--seconds", type=float, default=0.0, help="time taken per answer")
    p.add_argument("--answers", type=int, default=None, help="stop after this many")
    p.add_argument("--idle", type=float, default=10.0,
                   help="stop once nothing has been free this long (default 10 s)")
    p.add_argument("--overlap-share", type=float, default=0.0,
                   help="share of pairs that others answered too (default 0)")
    p.add_argument("--lease-seconds", type=float, default=LEASE_SECONDS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log", action="store_true",
                   help="print 'answered QUERY_ID MILLISECONDS' once each answer is committed")
    return p


def annotate(args: argparse.Namespace) -> int:
    """Answer the run's queries as the arguments say; returns how many were answered."""
    if args.seconds < 0 or args.idle < 0 or not 0 <= args.overlap_share <= 1:
        raise FeedbackError("--seconds and --idle must be at least 0, --overlap-share in "
                            "[0, 1]")
    teacher = make_teacher(args.teacher, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    answered, idle_since = 0, time.monotonic()
    with FeedbackStore(args.store) as store:
        while args.answers is None or answered < args.answers:
            overlap = rng.random() < args.overlap_share
            claim = dict(run_id=args.run_id, annotator_kind=SYNTHETIC)
            query = (overlap and store.claim_query(args.annotator, overlap=True, **claim)) \
                or store.claim_query(args.annotator, lease_seconds=args.lease_seconds, **claim)
            if query is None:
                if time.monotonic() - idle_since >= args.idle:
                    break
                time.sleep(0.2)
                continue
            left, right = store.get_segments([query.left_id, query.right_id])
            [answer] = teacher.answer_segments([left], [right])
            time.sleep(args.seconds)
            started = time.perf_counter()
            store.add_label(query.id, answer, args.annotator, annotator_kind=SYNTHETIC,
                            seconds=args.seconds)
            if args.log:  # acknowledged: committed before this line is printed
                print(f"answered {query.id} {1000 * (time.perf_counter() - started):.2f}",
                      flush=True)
            answered, idle_since = answered + 1, time.monotonic()
    print(f"{args.annotator}: {answered} answers", flush=True)
    return answered


def main(argv: list[str] | None = None) -> int:
    """Run the command line; its exit code (2: bad input)."""
    args = parser().parse_args(argv)
    return run_cli(lambda: annotate(args) and None)


if __name__ == "__main__":
    sys.exit(main())
