"""``python -m rlhf_envs.compare``: a labeling session in the pygame viewer.

    python -m rlhf_envs.compare --env Reacher-v0 --store labels.db --annotator ana --pairs 30
    python -m rlhf_envs.compare --env Reacher-v0 --from-run runs/rlhf   # the loop's queries

Pairs come from a training run's store (the queries it waits for) or from fresh
random-policy rollouts. A background thread renders the next pairs while the person
watches, so the next pair shows as soon as an answer is given. Every answer is committed
to the store before the next pair shows; quitting, a crash or a kill loses nothing
acknowledged, and running the same command again resumes with the next unanswered pair.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from feedback.annotators import annotator_quality
from feedback.cli import OneLineParser
from feedback.errors import FeedbackError
from feedback.queries import select_pairs
from feedback.segments import Segment
from feedback.store import FeedbackStore, Query, check_annotator_name
from feedback.viewer import Pair, Viewer
from rlhf_envs.registration import ENVS, NAMESPACE, make_clip_renderer

MODES = ("compare",)
UNDO_DEPTH = 20  # answers that can be taken back, newest first


def rollout_segments(env_id: str, steps: int, segment_length: int, seed: int,
                     env_kwargs: dict | None = None, policy=None) -> list[Segment]:
    """Clips of ``policy`` (an SB3 policy; random actions when None) acting in ``env_id``.

    Render states are kept, so the clips can be drawn.
    """
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rlhf_envs.learned_reward_vec_env import LearnedRewardVecEnv
    from rlhf_envs.segment_recorder import SegmentRecorder

    venv = DummyVecEnv([lambda: gym.make(env_id, **(env_kwargs or {}))])
    recorder = SegmentRecorder(LearnedRewardVecEnv(venv, env_id=env_id), env_id,
                               segment_length, source="random" if policy is None else "policy",
                               rng=np.random.default_rng([seed, 2]))
    recorder.seed(seed)
    recorder.action_space.seed(seed)
    obs = recorder.reset()
    for _ in range(steps):
        if policy is None:
            action = np.array([recorder.action_space.sample()])
        else:
            action, _ = policy.predict(obs, deterministic=False)
        obs, _, _, _ = recorder.step(action)
    recorder.close()
    return recorder.drain()


class CompareSession:
    """The viewer's :class:`~feedback.viewer.PairSource`: queries from a store, drawn ahead.

    ``planned`` answers are collected in this session. Unanswered queries already in the
    store come first (a training run's, or those left by an earlier session); when
    ``make_segments`` is given, new pairs of fresh clips are asked after them. After an
    answer, a ``repeat_share`` of the time an earlier pair of this session comes back
    with its sides swapped, which measures the annotator's self-consistency.
    """

    def __init__(
        self,
        store: FeedbackStore,
        env_id: str,
        annotator: str,
        planned: int,
        *,
        make_segments: Callable[[int], list[Segment]] | None = None,  # seed -> clips
        clip_size: int = 128,
        lookahead: int = 2,
        repeat_share: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.store, self.env_id, self.annotator = store, env_id, annotator
        self.planned, self.answered = planned, 0
        self._make_segments = make_segments
        self._clip_size = clip_size
        self._rng = np.random.default_rng(seed)
        self._ready: queue.Queue[Pair | None] = queue.Queue(maxsize=lookahead)
        self._history: list[tuple[int, Pair]] = []  # (label id, pair) for undo
        self._shown: dict[int, Pair] = {}  # pairs handed to the viewer, not yet answered
        self.repeat_share = repeat_share
        self._served: dict[int, Query] = {}  # queries prepared in this session, by id
        self._answered: list[Query] = []  # ... and answered (candidates for repeats)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._prepare, daemon=True, name="pairs")
        self._worker.start()

    # ----------------------------------------------------------------- background
    def _queries(self):
        """Pending queries, then new ones made from fresh clips (if a maker is given)."""
        served: set[int] = set()
        fruitless = 0
        while not self._stop.is_set():
            pending = [q for q in self.store.pending_queries() if q.id not in served]
            if not pending and self._make_segments is not None and fruitless < 3:
                pending = self._new_queries()
                fruitless = 0 if pending else fruitless + 1
                continue
            if not pending and fruitless:
                raise FeedbackError(f"fresh rollouts of {self.env_id} gave no new pairs of "
                                    "clips (are its episodes shorter than a clip?)")
            if not pending:
                return
            for query in pending:
                served.add(query.id)
                self._served[query.id] = query
                yield query
                repeat = self._swapped_repeat()
                if repeat is not None:
                    served.add(repeat.id)
                    yield repeat

    def _swapped_repeat(self) -> Query | None:
        """Now and then, an answered pair again with its sides swapped (self-consistency)."""
        if not self._answered or self._rng.random() >= self.repeat_share:
            return None
        earlier = self._answered[self._rng.integers(len(self._answered))]
        left, right = earlier.right_id, earlier.left_id
        [query_id] = self.store.add_queries([(left, right)], strategy="repeat")
        if query_id in self._served or query_id not in {q.id for q in self.store.pending_queries()}:
            return None  # this swapped pair was asked before
        query = Query(query_id, left, right, "repeat", 0)
        self._served[query_id] = query
        return query

    def _new_queries(self) -> list[Query]:
        # Clips of a rollout seeded by how many the store holds: each batch is new, also
        # in a session started again on the same store.
        segments = self._make_segments(len(self.store.segment_ids()))
        self.store.add_segments(segments)
        chosen = select_pairs(segments, min(8, len(segments) // 2), self._rng,
                              strategy="uniform", exclude=self.store.asked_pairs())
        pairs = [(segments[i].id, segments[j].id) for i, j in chosen]
        ids = set(self.store.add_queries(pairs, strategy="uniform"))
        return [q for q in self.store.pending_queries() if q.id in ids]

    def _prepare(self) -> None:
        renderer = None
        try:
            renderer = make_clip_renderer(self.env_id, self._clip_size, self._clip_size)
            for query in self._queries():
                left, right = self.store.get_segments([query.left_id, query.right_id])
                self._hand_over(Pair(query.id, renderer.frames(left), renderer.frames(right)))
        except BaseException as err:  # shown to the person by next_pair, not lost in a thread
            self._error = err
        finally:
            if renderer is not None:
                renderer.close()
            self._hand_over(None)  # the end of the pairs

    def _hand_over(self, item: Pair | None) -> None:
        """Queue a prepared pair (or the end mark); give up once the session closes."""
        while not self._stop.is_set():
            try:
                self._ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    # ----------------------------------------------------------------- PairSource
    def next_pair(self, timeout: float) -> Pair | None | Literal["wait"]:
        if self.answered >= self.planned:
            return None
        try:
            pair = self._ready.get(timeout=timeout)
        except queue.Empty:
            return "wait"
        if pair is None:
            self._ready.put_nowait(None)  # stay at the end for later calls (room: just taken)
            if self._error is not None:
                raise self._error
            return None
        self._shown[pair.key] = pair
        return pair

    def answer(self, key: int, answer: str, seconds: float) -> None:
        label = self.store.add_label(key, answer, self.annotator, annotator_kind="human",
                                     seconds=seconds)
        self._history = [*self._history[-(UNDO_DEPTH - 1):], (label, self._shown.pop(key))]
        self.answered += 1
        if key in self._served and self._served[key].strategy != "repeat":
            self._answered.append(self._served[key])

    def undo(self) -> Pair | None:
        if not self._history:
            return None
        label, pair = self._history.pop()
        self.store.delete_label(label)
        self.answered -= 1
        self._shown[pair.key] = pair
        return pair

    def progress(self) -> tuple[int, int]:
        return self.answered, self.planned

    def close(self) -> None:
        self._stop.set()
        self._worker.join(timeout=5)


def parser() -> OneLineParser:
    p = OneLineParser(prog="python -m rlhf_envs.compare",
                      description="Label clip comparisons in a pygame window; every answer is "
                                  "stored before the next pair shows.")
    p.add_argument("--env", required=True, help="env id, with or without 'rlhf_envs/'")
    p.add_argument("--store", type=Path, default=None,
                   help="feedback store file (default: --from-run's feedback.db)")
    p.add_argument("--from-run", type=Path, default=None,
                   help="a training run directory: answer the queries its loop waits for")
    p.add_argument("--annotator", default=os.environ.get("USER", "annotator"),
                   help="your name, as stored with each answer (default $USER)")
    p.add_argument("--pairs", type=int, default=20, help="answers to give (default 20)")
    p.add_argument("--policy", type=Path, default=None,
                   help="clips of this trained agent instead of a random policy: a run "
                        "directory or its checkpoint/agent directory")
    p.add_argument("--segment-length", type=int, default=50,
                   help="steps per fresh clip (default 50)")
    p.add_argument("--fps", type=int, default=30, help="playback frames per second")
    p.add_argument("--mode", default="compare",
                   help=f"kind of feedback: {', '.join(MODES)} (default compare)")
    p.add_argument("--repeat-share", type=float, default=0.1,
                   help="share of answers followed by an earlier pair with sides swapped, "
                        "to measure self-consistency (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of fresh rollouts")
    return p


def open_session(args) -> CompareSession:
    """Check the arguments and build the session; raises FeedbackError with one line."""
    name = args.env.removeprefix(f"{NAMESPACE}/")
    if name not in ENVS:
        raise FeedbackError(f"unknown env {args.env!r}")
    env_id = f"{NAMESPACE}/{name}"
    if args.mode not in MODES:
        raise FeedbackError(f"unknown mode {args.mode!r}; this version offers: "
                            f"{', '.join(MODES)}")
    check_annotator_name(args.annotator)
    if not 0 <= args.repeat_share <= 1:
        raise FeedbackError(f"--repeat-share must be in [0, 1], got {args.repeat_share}")
    for flag in ("pairs", "segment_length", "fps"):
        if getattr(args, flag) < 1:
            raise FeedbackError(f"--{flag.replace('_', '-')} must be at least 1")
    if args.store is None and args.from_run is None:
        raise FeedbackError("give --store PATH (or --from-run DIR)")
    path = args.store or Path(args.from_run) / "feedback.db"
    if args.from_run is not None and not path.is_file():
        raise FeedbackError(f"--from-run {args.from_run}: no feedback.db there")
    policy = None
    if args.policy is not None:
        import gymnasium as gym

        from rlhf_envs.agent_checkpoint import load_policy

        where = Path(args.policy)
        if (where / "checkpoint" / "agent").exists():  # a run directory
            where = where / "checkpoint" / "agent"
        if not where.exists():
            raise FeedbackError(f"--policy {args.policy}: no such file or directory")
        policy = load_policy(where, gym.make(env_id))
    store = FeedbackStore(path)
    others = store.env_ids() - {env_id}
    if others:
        store.close()
        raise FeedbackError(f"{path} holds clips of {', '.join(sorted(others))}, not {env_id}")
    make = None
    if args.from_run is None:
        def make(offset: int) -> list[Segment]:
            return rollout_segments(env_id, args.segment_length * 16, args.segment_length,
                                    args.seed + offset, policy=policy)
    return CompareSession(store, env_id, args.annotator, args.pairs, make_segments=make,
                          repeat_share=args.repeat_share, seed=args.seed)


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0%}"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        session = open_session(args)
    except FeedbackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        given = Viewer(session, annotator=args.annotator, fps=args.fps).run()
        answered, planned = session.progress()
        print(f"{given} answers stored in {session.store.path} ({answered}/{planned} planned)")
        mine = annotator_quality(session.store.labels()).get(args.annotator)
    except FeedbackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        session.close()
        session.store.close()
    if mine:
        print(f"{args.annotator}: {mine['labels']} labels, self-consistency "
              f"{_percent(mine['self_consistency'])} over {mine['repeats']} repeats, "
              f"agreement with others {_percent(mine['agreement_with_others'])} "
              f"over {mine['shared']} shared pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
