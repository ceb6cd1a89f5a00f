import numpy as np
import pytest

from feedback.annotators import annotator_quality, label_weights
from feedback.segments import cut_segments
from feedback.store import FeedbackStore
from feedback.ui.sessions import CompareSession
from rlhf_envs.labeling import clip_renderer, rollout_segments


def stored_pairs(address):
    rng = np.random.default_rng(0)
    segments = cut_segments(rng.normal(size=(81, 3)), rng.normal(size=(80, 2)),
                            rng.normal(size=80), length=10, env_id="Toy-v0")
    store = FeedbackStore(address)
    store.add_segments(segments)
    return store, [s.id for s in segments]


def test_self_consistency_compares_swapped_repeats_and_agreement_across_people(backend):
    store, ids = stored_pairs(backend.address())
    a, b, c, d = ids[:4]
    q = store.add_queries([(a, b), (b, a), (c, d), (d, c), (a, c), (c, a)])
    # ana: consistent on (a, b) (left, then right with sides swapped), not on (c, d).
    store.add_labels([(q[0], "left"), (q[1], "right"), (q[2], "left"), (q[3], "left")], "ana",
                     annotator_kind="human")
    # bo answers (a, b) like ana, (c, d) the other way round, and skips (a, c).
    store.add_labels([(q[0], "left"), (q[2], "right"), (q[4], "skip")], "bo",
                     annotator_kind="human")
    quality = annotator_quality(store.labels())
    assert quality["ana"]["repeats"] == 2 and quality["ana"]["self_consistency"] == 0.5
    assert quality["bo"]["repeats"] == 0 and quality["bo"]["self_consistency"] is None
    # ana vs bo on (a, b): 2 agreeing comparisons; on (c, d): 1 of 2 agree ("left" swapped
    # back is "right", matching bo).
    assert quality["bo"]["shared"] == 4
    assert quality["bo"]["agreement_with_others"] == pytest.approx(3 / 4)
    weights = label_weights(store.labels(), min_repeats=2)
    assert weights.tolist() == [0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0]
    store.close()


def test_sessions_bring_back_answered_pairs_with_sides_swapped(backend):
    env = "rlhf_envs/Reacher-v0"
    store = FeedbackStore(backend.address("labels"))
    session = CompareSession(store, env, "ana", planned=6, repeat_share=1.0,
                             make_renderer=clip_renderer(env),
                             make_segments=lambda seed, _: rollout_segments(env, 160, 10, seed))
    shown = {}
    for _ in range(6):
        pair = "wait"
        while pair == "wait":
            pair = session.next_pair(timeout=0.5)
        shown[pair.key] = pair
        session.answer(pair.key, "left", 1.0)
    session.close()
    labels = store.labels()
    store.close()
    by_pair = {(lab.left_id, lab.right_id): lab for lab in labels}
    repeats = [lab for lab in labels if (lab.right_id, lab.left_id) in by_pair]
    assert repeats  # (the pairs drawn ahead come first, then the repeats)
    repeat = repeats[-1]
    original = by_pair[(repeat.right_id, repeat.left_id)]
    np.testing.assert_array_equal(shown[repeat.query_id].left, shown[original.query_id].right)
    # Always "left", with the sides swapped: inconsistent.
    assert annotator_quality(labels)["ana"]["self_consistency"] == 0.0
