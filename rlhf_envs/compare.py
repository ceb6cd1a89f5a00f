"""``python -m rlhf_envs.compare``: a labeling session in a pygame window.

    python -m rlhf_envs.compare --env Reacher-v0 --store labels.db --annotator ana --pairs 30
    python -m rlhf_envs.compare --env Reacher-v0 --from-run runs/rlhf   # the loop's queries
    python -m rlhf_envs.compare --env Reacher-v0 --store labels.db --mode rate
    python -m rlhf_envs.compare --env Highway-v0 --store labels.db --mode demo --pairs 5
    python -m rlhf_envs.compare --text runs/text          # a text run's completions

Modes: ``compare`` (which of two clips is better), ``rate`` (1-5 per clip) and ``demo``
(drive, or pick slates, yourself; see :mod:`rlhf_envs.labeling.demo_session`). ``--text``
answers the queries of a text run (``python -m agents.text``): prompt and completions are
shown as scrollable pages (:mod:`feedback.ui.text_pages`). Segments
come from a training run's store (the queries it waits for, or its segments) or from
fresh rollouts of a random or trained policy (:mod:`rlhf_envs.labeling.rollouts`); the
sessions of :mod:`feedback.ui.sessions` draw their clips ahead. Every answer is committed
to the store before the next question shows; quitting, a crash or a kill loses nothing
acknowledged, and running the same command again resumes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from feedback.annotators import annotator_quality
from feedback.cli import OneLineParser, run_cli
from feedback.errors import FeedbackError
from feedback.segments import Segment
from feedback.store import FeedbackStore, check_annotator_name
from feedback.text import TEXT_PREFIX
from feedback.ui.demo_player import DemoPlayer
from feedback.ui.sessions import CompareSession, PreparedSession, Progress, RateSession
from feedback.ui.text_pages import TextRenderer
from feedback.ui.viewer import Viewer
from rlhf_envs.labeling import (
    DemoSession,
    check_demo_env,
    clip_renderer,
    load_run_policy,
    rollout_segments,
)
from rlhf_envs.registration import NAMESPACE, clip_guide, env_name, segment_length

FRESH_ROLLOUT_SEGMENTS = 16  # segments per fresh rollout
FIRST_ROLLOUT_SEGMENTS = 4  # ... but the first is short: the first pair shows sooner

MODES = ("compare", "rate", "demo")


def parser() -> OneLineParser:
    """The ``python -m rlhf_envs.compare`` parser (bad input: one line, exit code 2)."""
    p = OneLineParser(prog="python -m rlhf_envs.compare",
                      description="Give feedback on clips in a pygame window: compare, rate or "
                                  "demonstrate; every answer is stored before the next shows.")
    p.add_argument("--env", default=None,
                   help="env id, with or without 'rlhf_envs/' (not with --text)")
    p.add_argument("--text", type=Path, default=None,
                   help="a text run directory (python -m agents.text --out DIR) or its "
                        "store: answer its queries on completions")
    p.add_argument("--store", default=None,
                   help="feedback store: a file, or a team's postgresql://... or "
                        "service=NAME (default: --from-run's feedback.db)")
    p.add_argument("--run-id", default=None,
                   help="answer this training run's queries in a shared --store, claimed "
                        "one by one so that no two annotators get one pair at once")
    p.add_argument("--overlap-share", type=float, default=0.1,
                   help="with --run-id: share of pairs that someone else answered too, for "
                        "agreement between people (default 0.1)")
    p.add_argument("--wait", type=float, default=0.0,
                   help="with --run-id: seconds to wait for the run to post more queries "
                        "when none is free (default 0: end)")
    p.add_argument("--from-run", type=Path, default=None,
                   help="a training run directory: answer the queries its loop waits for "
                        "(rate: its clips; demo: add demonstrations to its store)")
    p.add_argument("--annotator", default=os.environ.get("USER", "annotator"),
                   help="your name, as stored with each answer (default $USER)")
    p.add_argument("--pairs", type=int, default=20,
                   help="usable answers to give (skips and pairs flagged as broken do not "
                        "count), or demonstrations to record (default 20)")
    p.add_argument("--policy", type=Path, default=None,
                   help="clips of this trained agent instead of a random policy: a run "
                        "directory or its checkpoint/agent directory")
    p.add_argument("--segment-length", type=int, default=None,
                   help="steps per fresh segment or demonstration (default: the length "
                        "most of the store's segments have, else the env's own: Reacher "
                        "25, Highway 15, SlateRec 20, ... (rlhf_envs/registration.py))")
    p.add_argument("--fps", type=float, default=None,
                   help="playback frames per second (default: the env's pace a person can "
                        "follow, e.g. HalfCheetah 20, Highway 2, SlateRec 1.5)")
    p.add_argument("--mode", default="compare",
                   help=f"kind of feedback: {', '.join(MODES)} (default compare)")
    p.add_argument("--repeat-share", type=float, default=0.1,
                   help="share of answers followed by an earlier pair with sides swapped, "
                        "to measure self-consistency (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of fresh rollouts")
    return p


def _segment_length(args, store: FeedbackStore, env_id: str) -> int:
    """--segment-length, else the length most of the store's segments have, else the env's.

    A run's store holds its segments; a new store takes the env's row of the env table.
    """
    if args.segment_length is not None:
        return args.segment_length
    lengths = list(store.segment_lengths().values())
    return max(set(lengths), key=lengths.count) if lengths else segment_length(env_id)


def open_text_session(args: argparse.Namespace) -> PreparedSession:
    """The session answering a text run's queries (``--text``)."""
    if args.env is not None or args.store is not None or args.from_run is not None:
        raise FeedbackError("--text names the run; give no --env, --store or --from-run")
    if args.mode == "demo":
        raise FeedbackError("--mode demo acts in an env; text runs are compared or rated")
    path = args.text / "feedback.db" if args.text.is_dir() else args.text
    if not path.is_file():
        raise FeedbackError(f"--text {args.text}: no feedback store there")
    store = FeedbackStore(path)
    try:
        env_ids = sorted(store.env_ids())
        if len(env_ids) != 1 or not env_ids[0].startswith(TEXT_PREFIX):
            raise FeedbackError(f"{path} holds no text run's segments (it holds "
                                f"{', '.join(env_ids) or 'none'})")
        options = dict(make_renderer=lambda size: TextRenderer(), seed=args.seed)
        if args.mode == "rate":
            return RateSession(store, env_ids[0], args.annotator, args.pairs, **options)
        return CompareSession(store, env_ids[0], args.annotator, args.pairs,
                              repeat_share=args.repeat_share, **options)
    except BaseException:
        store.close()
        raise


def open_session(args: argparse.Namespace) -> PreparedSession | DemoSession:
    """Check the arguments and build the session; raises FeedbackError with one line."""
    if args.mode not in MODES:
        raise FeedbackError(f"unknown mode {args.mode!r}; choose one of: {', '.join(MODES)}")
    check_annotator_name(args.annotator)
    if not 0 <= args.repeat_share <= 1:
        raise FeedbackError(f"--repeat-share must be in [0, 1], got {args.repeat_share}")
    for flag in ("pairs", "segment_length"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise FeedbackError(f"--{flag.replace('_', '-')} must be at least 1")
    if args.fps is not None and not 0 < args.fps <= 240:
        raise FeedbackError(f"--fps must be more than 0 and at most 240, got {args.fps:g}")
    if args.text is not None:
        return open_text_session(args)
    if args.env is None:
        raise FeedbackError("give --env ID (or --text RUN for a text run)")
    env_id = f"{NAMESPACE}/{env_name(args.env)}"
    if args.store is None and args.from_run is None:
        raise FeedbackError("give --store PATH (or --from-run DIR)")
    if args.store is not None and args.from_run is not None:
        raise FeedbackError("give --store or --from-run, not both (--from-run uses the "
                            "run's feedback.db)")
    if args.run_id is not None and (args.store is None or args.mode != "compare"):
        raise FeedbackError("--run-id answers a run's queries in a shared --store, in "
                            "--mode compare")
    if not 0 <= args.overlap_share <= 1:
        raise FeedbackError(f"--overlap-share must be in [0, 1], got {args.overlap_share}")
    if args.wait < 0:
        raise FeedbackError("--wait must be at least 0 seconds")
    path = args.store or Path(args.from_run) / "feedback.db"
    if args.from_run is not None and not path.is_file():
        raise FeedbackError(f"--from-run {args.from_run}: no feedback.db there")
    if args.mode == "demo":
        check_demo_env(env_id)  # before a store file is made
        if args.policy is not None:
            raise FeedbackError("--policy shows an agent's clips; in --mode demo you act "
                                "yourself")
    policy = None if args.policy is None else load_run_policy(Path(args.policy), env_id)
    store = FeedbackStore(path)
    try:
        others = store.env_ids() - {env_id}
        if others and args.run_id is None:  # a team's store holds several runs' clips
            raise FeedbackError(f"{store.address} holds clips of {', '.join(sorted(others))}, "
                                f"not {env_id}")
        length = _segment_length(args, store, env_id)
        if args.mode == "demo":
            return DemoSession(store, env_id, args.annotator, args.pairs, segment_length=length,
                               seed=args.seed)
        make = None
        if args.from_run is None and args.run_id is None:  # a run's: only its queries
            rollouts = []

            def make(offset: int, progress: Progress) -> list[Segment]:
                count = FRESH_ROLLOUT_SEGMENTS if rollouts else FIRST_ROLLOUT_SEGMENTS
                rollouts.append(count)
                return rollout_segments(env_id, length * count, length, args.seed + offset,
                                        policy=policy, progress=progress)
        options = dict(make_renderer=clip_renderer(env_id), make_segments=make, seed=args.seed,
                       clip_size=clip_guide(env_id).pixels)
        if args.mode == "rate":
            return RateSession(store, env_id, args.annotator, args.pairs, **options)
        return CompareSession(store, env_id, args.annotator, args.pairs,
                              repeat_share=args.repeat_share, run_id=args.run_id,
                              overlap_share=args.overlap_share, wait_seconds=args.wait,
                              **options)
    except BaseException:
        store.close()
        raise


def _agreement_line(store: FeedbackStore, annotator: str, run_id: str | None) -> str | None:
    """Agreement with other people on shared pairs, where there are any."""
    mine = annotator_quality(store.labels(run_id)).get(annotator, {})
    if not mine.get("shared"):
        return None
    return (f"agreement with others {mine['agreement_with_others']:.0%} over "
            f"{mine['shared']} shared pairs")


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m rlhf_envs.compare``; returns the exit code (2: bad input)."""
    args = parser().parse_args(argv)
    return run_cli(lambda: label(args))


def label(args: argparse.Namespace) -> None:
    """Open the session the arguments ask for, run its window, and sum up what was stored.

    The lines printed are the end screen's (the same counts as the window's status line
    and the store's), plus agreement with other people where pairs were shared.
    """
    session = open_session(args)
    agreement = None
    try:
        guide = None if args.text is not None else clip_guide(session.env_id)
        if isinstance(session, DemoSession):
            front = DemoPlayer(session, annotator=args.annotator, guide=guide)
        else:
            name = session.env_id.removeprefix(f"{NAMESPACE}/")
            front = Viewer(session, annotator=args.annotator, fps=args.fps, guide=guide,
                           title=f"rlhf-envs: {args.mode} {name}")
        front.run()
        lines = front.summary()
        if args.mode == "compare":
            agreement = _agreement_line(session.store, args.annotator, args.run_id)
        address = session.store.address
    finally:
        session.close()
        session.store.close()
    print(f"Stored in {address}: {lines[0]}")
    for line in lines[1:] + ([agreement] if agreement else []):
        print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
