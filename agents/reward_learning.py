"""The loop's feedback steps: first segments, ask, fit, keep; and the baseline without them.

:class:`RewardLearning` holds what learning a reward needs (the run's store, its
teacher, the reward model and the buffer of candidate segments) and does the loop's
feedback steps. :class:`TrueRewardBaseline` has the same steps, each doing nothing: the
``--true-reward`` baseline is the same loop with this one object swapped.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from agents.config import PEOPLE_TEACHER, LoopState, RunConfig, shared_run_id
from agents.hyperparams import Settings
from agents.teachers import make_loop_teacher
from feedback.answers import ANSWERS
from feedback.errors import FeedbackError
from feedback.queries import select_pairs
from feedback.reward_model import FitReport, RewardModel
from feedback.segments import Segment, SegmentBuffer
from feedback.store import FeedbackStore
from feedback.training_pairs import latest_ratings, training_pairs
from rlhf_envs.sb3.segment_recorder import SegmentRecorder

STORE_FILE = "feedback.db"
FIRST_ROLLOUT_MIN_STEPS = 2_000  # random steps before any training, at the least ...
FIRST_ROLLOUT_STEPS_PER_LABEL = 0.5  # ... or half a segment per label of the budget
FIRST_STRATEGY = "uniform"  # no model to be uncertain with yet


def label_targets(budget: int, iterations: int, first_share: float) -> list[int]:
    """Cumulative labels to have asked by the end of each iteration's asking.

    A ``first_share`` of the budget comes first (Christiano et al. 2017), the rest falls
    off as 1/k over the remaining iterations, so early (most informative) iterations get
    the most.
    """
    first = math.ceil(budget * first_share) if iterations > 1 else budget
    weights = np.array([1.0 / k for k in range(1, iterations)])
    later = (budget - first) * np.cumsum(weights) / max(weights.sum(), 1e-12)
    return [first, *[first + int(round(x)) for x in later]]


def reward_view(venv) -> dict | None:
    """What the env says its reward model should read (``reward_view``), None for all."""
    return venv.get_attr("reward_view", indices=[0])[0] if venv.has_attr("reward_view") else None


class RewardLearning:
    """The feedback side of one run: store, teacher, reward model, candidate segments.

    :param config: the run's configuration (checked)
    :param settings: the run's settings
    :param recorder: the run's segment recorder (its spaces are the model's)
    :param out: the run directory (the store is ``feedback.db`` there)
    :param device: where the reward model fits
    """

    def __init__(self, config: RunConfig, settings: Settings, recorder: SegmentRecorder,
                 out: Path, device: str) -> None:
        self.run_id = shared_run_id(config)  # None in a run's own store
        self.store = FeedbackStore(config.store or out / STORE_FILE)
        self.where = self.store.address
        self.teacher = make_loop_teacher(config.teacher, config.env_id, config.annotator,
                                         config.seed, run_id=self.run_id or "",
                                         min_new_answers=config.min_new_answers,
                                         timeout=config.answer_timeout)
        self.model = RewardModel(recorder.observation_space, recorder.action_space,
                                 env_id=config.env_id, device=device, seed=config.seed,
                                 view=reward_view(recorder))
        self.buffer = SegmentBuffer(settings.loop.buffer_capacity)
        self.env_id, self.device, self.budget = config.env_id, device, config.labels
        self.strategy, self.loop = config.query_strategy, settings.loop
        self.targets = label_targets(config.labels, settings.loop.iterations,
                                     settings.loop.first_label_share)
        self._rng = np.random.default_rng(config.seed)  # query selection
        self._warned_left_out = False

    def restore(self, checkpoint: Path, state: LoopState) -> RewardModel | None:
        """Take back the checkpoint's reward model (returned, if any) and buffer."""
        loaded = None
        if (checkpoint / "reward_model").exists():
            loaded = self.model = RewardModel.load(checkpoint / "reward_model",
                                                   env_id=self.env_id, device=self.device)
        self.buffer.add(self.store.get_segments(state.buffer_ids))
        return loaded

    def first_segments(self, recorder: SegmentRecorder, seed: int) -> None:
        """Random rollouts give the first candidate segments (unless the buffer has some)."""
        if len(self.buffer):
            return
        recorder.source = "random"
        recorder.reset()
        recorder.action_space.seed(seed)
        n_envs = recorder.num_envs
        steps = max(FIRST_ROLLOUT_MIN_STEPS,
                    int(self.loop.segment_length * self.budget * FIRST_ROLLOUT_STEPS_PER_LABEL))
        for _ in range(steps // n_envs):
            recorder.step(np.stack([recorder.action_space.sample() for _ in range(n_envs)]))
        self.keep(recorder.drain())
        recorder.episode_true_returns.clear()
        recorder.source = "policy"

    def ask(self, iteration: int) -> None:
        """Bring the queries asked up to this iteration's target, and have them answered.

        Each pair is asked once. Queries asked before a crash but not yet answered are
        answered first.
        """
        if not self.teacher.asks:
            return
        strategy = self.strategy if iteration else FIRST_STRATEGY
        asked = self.store.asked_pairs(self.run_id)
        wanted = max(0, self.targets[iteration] - len(asked))
        candidates = self.buffer.segments
        chosen = select_pairs(candidates, wanted, self._rng, strategy=strategy,
                              model=self.model if self.model.label_count else None,
                              exclude=asked)
        if len(chosen):  # every buffer segment is in the store already
            self.store.add_queries([(candidates[i].id, candidates[j].id) for i, j in chosen],
                                   strategy=strategy, iteration=iteration,
                                   run_id=self.run_id or "")
        pending = self.store.pending_queries(self.run_id)
        if pending:
            self.teacher.answer(self.store, pending)

    def fit(self, iteration: int) -> FitReport | None:
        """Fit the reward model on all the store's feedback (None: nothing to fit on yet)."""
        data = training_pairs(self.store, self.loop.segment_length, run_id=self.run_id,
                              env_id=self.env_id if self.run_id is not None else None)
        if data.left_out and not self._warned_left_out:
            warnings.warn(f"{data.left_out} feedback pairs in {self.where} are of segments "
                          f"of another env or length than {self.loop.segment_length} steps; "
                          "they are left out", stacklevel=2)
            self._warned_left_out = True
        if data.answers:
            return self.model.fit(data.segments, data.pairs, data.answers,
                                  epochs=self.loop.fit_epochs, weights=data.weights)
        if iteration == 0 and self.teacher.name != PEOPLE_TEACHER:
            raise FeedbackError(f"no labels, ratings or demonstrations in {self.where} to "
                                "fit a reward model on")
        if iteration == 0:  # people answer at their own pace; training does not wait
            warnings.warn(f"no answers to run {self.run_id}'s queries in {self.where} yet: "
                          "the agent trains on an unfitted reward model until they come",
                          stacklevel=2)
        return None

    def keep(self, segments: list[Segment]) -> None:
        """Store new segments and make them candidates for later queries."""
        if segments:
            self.store.add_segments(segments)  # a checkpoint names buffer segments by id
            self.buffer.add(segments)

    def learned_returns(self, segments: list[Segment]) -> np.ndarray | None:
        """The reward model's return of each segment (None without segments)."""
        return self.model.segment_returns(segments) if segments else None

    def label_count(self) -> int:
        """Labels in the store (in a shared store: answers to this run's queries)."""
        if self.run_id is None:
            return self.store.label_count()
        return len(self.store.labels(self.run_id))

    def buffer_ids(self) -> list[str]:
        """The ids of the candidate segments, for the checkpoint."""
        return [s.id for s in self.buffer]

    def counts(self) -> dict[str, int | dict[str, int]]:
        """The feedback the reward model was fitted on, by kind, for metrics.json.

        ``answers`` splits the labels by answer: a skip teacher's skips and an equal
        teacher's ties count as labels but say less than a preference.
        """
        labels = self.store.labels(self.run_id)  # read once: the count and the split
        answers = Counter(label.answer for label in labels)
        return {"labels_used": len(labels),
                "answers": {answer: answers[answer] for answer in ANSWERS},
                "ratings_used": sum(map(len, latest_ratings(self.store.ratings()).values())),
                "demonstrations_used": len(self.store.demonstrations())}

    def close(self) -> None:
        """Close the store."""
        self.store.close()


class TrueRewardBaseline:
    """The feedback steps of the ``--true-reward`` baseline: none. No store, no model."""

    model = None

    def restore(self, checkpoint: Path, state: LoopState) -> None:
        """Nothing to restore."""

    def first_segments(self, recorder: SegmentRecorder, seed: int) -> None:
        """No segments are needed."""

    def ask(self, iteration: int) -> None:
        """Nobody is asked."""

    def fit(self, iteration: int) -> None:
        """Nothing is fitted."""

    def keep(self, segments: list[Segment]) -> None:
        """Segments are not kept."""

    def learned_returns(self, segments: list[Segment]) -> None:
        """There is no learned reward."""

    def label_count(self) -> int:
        """No labels."""
        return 0

    def buffer_ids(self) -> list[str]:
        """No candidate segments."""
        return []

    def counts(self) -> dict[str, int | dict[str, int]]:
        """No feedback was used."""
        return {"labels_used": 0, "answers": dict.fromkeys(ANSWERS, 0), "ratings_used": 0,
                "demonstrations_used": 0}

    def close(self) -> None:
        """Nothing to close."""
