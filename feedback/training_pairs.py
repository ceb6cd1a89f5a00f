"""What a reward model fits on: every kind of feedback in a store, as labelled pairs.

- *compare* labels are used as given, each weighted by its annotator's self-consistency
  (:func:`feedback.annotators.label_weights`);
- *rate*: a person's 1-5 ratings become comparisons between segments that person rated
  (the higher rating is preferred, equal ratings are "equal"). Each segment is paired
  with the ``rating_neighbours`` segments the same person rated just before it, so the
  pairs stay the same as ratings accumulate and people are only compared with themselves
  (one person's 4 is not another's);
- *demo*: a person's demonstration is preferred over agent segments (``random`` or
  ``policy`` sources), ``pairs_per_demo`` of them per demonstration, drawn with a seed
  of the demonstration's position, so the choice is reproducible.

The reward model needs segments of one length in a fit; pairs whose segments have another
length than ``segment_length`` are left out and counted in ``left_out``. Labels and
ratings a person flagged as broken or unjudgeable are left out too, counted in
``flagged``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from feedback.annotators import label_weights
from feedback.answers import EQUAL, LEFT, RIGHT
from feedback.segments import Segment
from feedback.store import Demonstration, FeedbackStore, Rating

AGENT_SOURCES = ("random", "policy")


@dataclass
class TrainingPairs:
    """``segments[pairs[k, 0]]`` vs ``segments[pairs[k, 1]]`` answered ``answers[k]``."""

    segments: list[Segment]
    pairs: np.ndarray
    answers: list[str]
    weights: np.ndarray
    kinds: list[str]  # "compare", "rate" or "demo", per pair
    left_out: int = 0  # pairs of segments of another length
    flagged: int = 0  # labels and ratings left out because a person flagged them
    counts: dict[str, int] = field(default_factory=dict)  # pairs per kind


def latest_ratings(ratings: list[Rating]) -> dict[str, dict[str, int]]:
    """Per annotator, each segment's latest rating, in the order the latest ones were given.

    A segment whose latest answer was a skip, or was flagged as broken, is left out.
    """
    latest: dict[str, dict[str, int]] = {}
    for r in ratings:  # in the order given (the store's: oldest first)
        mine = latest.setdefault(r.annotator, {})
        mine.pop(r.segment_id, None)
        if r.rating is not None and not r.flagged:
            mine[r.segment_id] = r.rating  # re-inserted: ordered by latest rating
    return latest


def rating_pairs(ratings: list[Rating], neighbours: int = 4) -> list[tuple[str, str, str]]:
    """``(left_id, right_id, answer)`` pairs from each person's ratings.

    Each segment's latest rating (see :func:`latest_ratings`) is compared with those of
    the ``neighbours`` segments the same person rated just before it.
    """
    pairs = []
    for mine in latest_ratings(ratings).values():
        rated = list(mine.items())
        for k, (segment_id, rating) in enumerate(rated):
            for other, other_rating in rated[max(0, k - neighbours) : k]:
                better = LEFT if rating > other_rating else RIGHT
                pairs.append((segment_id, other, EQUAL if rating == other_rating else better))
    return pairs


def demonstration_pairs(
    demonstrations: list[Demonstration], agent_ids: list[str], per_demo: int = 4
) -> list[tuple[str, str, str]]:
    """``(demo_id, agent_id, "left")``: each demonstration beats ``per_demo`` agent segments."""
    pairs = []
    for k, demo in enumerate(demonstrations):
        if not agent_ids:
            break
        rng = np.random.default_rng([k, len(agent_ids)])
        chosen = rng.choice(len(agent_ids), min(per_demo, len(agent_ids)), replace=False)
        pairs += [(demo.segment_id, agent_ids[i], LEFT) for i in chosen]
    return pairs


def training_pairs(
    store: FeedbackStore,
    segment_length: int | None = None,
    *,
    rating_neighbours: int = 4,
    pairs_per_demo: int = 4,
    run_id: str | None = None,
    env_id: str | None = None,
) -> TrainingPairs:
    """All the store's feedback as labelled pairs, ready for :meth:`RewardModel.fit`.

    ``segment_length`` (default: the length of the first labelled segment, else of the
    first stored segment) is the one segment length kept. In a store shared by several
    runs, ``run_id`` keeps the labels of that run's queries only, and ``env_id`` keeps
    feedback on that env's segments only (ratings and demonstrations are per segment).
    """
    lengths = store.segment_lengths()
    if env_id is not None:  # segments of other envs count as of no usable length
        envs = store.segment_env_ids()
        lengths = {s: n if envs[s] == env_id else -1 for s, n in lengths.items()}
    every_label, ratings = store.labels(run_id), store.ratings()
    labels = [lab for lab in every_label if not lab.flagged]
    flagged = len(every_label) - len(labels) + sum(r.flagged for r in ratings)
    if segment_length is None:  # the first labelled segment's, else the first stored one's
        first = labels[0].left_id if labels else next(iter(store.segment_sources()), None)
        segment_length = lengths.get(first)
    weights_of_labels = label_weights(labels)
    rows = [(lab.left_id, lab.right_id, lab.answer, float(w), lab.kind)
            for lab, w in zip(labels, weights_of_labels)]
    rows += [(a, b, answer, 1.0, "rate")
             for a, b, answer in rating_pairs(ratings, rating_neighbours)]
    demos = store.demonstrations()
    if demos:
        demo_ids = {d.segment_id for d in demos}
        agent_ids = [s for s, source in store.segment_sources().items()
                     if source in AGENT_SOURCES and s not in demo_ids
                     and lengths[s] == segment_length]  # comparable with the demos kept
        rows += [(a, b, answer, 1.0, "demo")
                 for a, b, answer in demonstration_pairs(demos, agent_ids, pairs_per_demo)]
    kept = [row for row in rows
            if lengths[row[0]] == segment_length and lengths[row[1]] == segment_length]
    ids = sorted({i for row in kept for i in row[:2]})
    position = {segment_id: k for k, segment_id in enumerate(ids)}
    pairs = np.array([[position[a], position[b]] for a, b, *_ in kept],
                     dtype=np.int64).reshape(-1, 2)
    kinds = [row[4] for row in kept]
    return TrainingPairs(
        segments=store.get_segments(ids) if ids else [],
        pairs=pairs,
        answers=[row[2] for row in kept],
        weights=np.array([row[3] for row in kept], dtype=np.float64),
        kinds=kinds,
        left_out=len(rows) - len(kept),
        flagged=flagged,
        counts={kind: kinds.count(kind) for kind in dict.fromkeys(kinds)},
    )
