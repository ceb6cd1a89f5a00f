import numpy as np
from gymnasium import spaces

from feedback.reward_model import RewardModel
from feedback.segments import cut_segments
from feedback.store import FeedbackStore
from feedback.training_pairs import training_pairs

OBS, ACT = spaces.Box(-5, 5, (3,), np.float32), spaces.Box(-1, 1, (2,), np.float32)


def clips(n, length, source, seed, action_mean=0.0):
    rng = np.random.default_rng(seed)
    steps = n * length
    acts = np.clip(rng.normal(action_mean, 0.5, (steps, 2)), -1, 1).astype(np.float32)
    obs = rng.normal(size=(steps + 1, 3)).astype(np.float32)
    return cut_segments(obs, acts, acts.sum(1), length=length, env_id="Toy-v0", source=source,
                        episode=seed)


def test_ratings_become_comparisons_within_each_person(backend):
    c = clips(4, 10, "random", 0)
    with FeedbackStore(backend.address()) as store:
        store.add_segments(c)
        store.add_rating(c[0].id, 5, "ana")
        store.add_rating(c[1].id, 2, "ana")
        store.add_rating(c[2].id, 2, "ana")
        store.add_rating(c[1].id, 4, "ana")  # re-rated: the latest counts
        store.add_rating(c[3].id, None, "ana")  # skipped: not compared
        store.add_rating(c[3].id, 1, "bo")  # bo rated one clip: nothing to compare
        data = training_pairs(store)
    got = {(data.segments[a].id, data.segments[b].id, answer)
           for (a, b), answer in zip(data.pairs, data.answers)}
    assert got == {(c[2].id, c[0].id, "right"), (c[1].id, c[0].id, "right"),
                   (c[1].id, c[2].id, "left")}
    assert data.kinds == ["rate"] * 3 and data.counts == {"rate": 3}


def test_demonstrations_are_preferred_over_agent_clips_of_their_length(backend):
    agent = clips(6, 10, "policy", 1)
    demos = clips(2, 10, "demo", 2) + clips(1, 7, "demo", 3)  # the last: another length
    with FeedbackStore(backend.address()) as store:
        store.add_segments(agent)
        for demo in demos:
            store.add_demonstration(demo, "ana")
        data = training_pairs(store, segment_length=10, pairs_per_demo=4)
        again = training_pairs(store, segment_length=10, pairs_per_demo=4)
    demo_ids, agent_ids = {d.id for d in demos}, {a.id for a in agent}
    assert len(data.answers) == 8 and set(data.answers) == {"left"}
    assert data.left_out == 4 and data.kinds == ["demo"] * 8
    for a, b in data.pairs:
        assert data.segments[a].id in demo_ids and data.segments[b].id in agent_ids
    np.testing.assert_array_equal(data.pairs, again.pairs)  # reproducible


def test_a_model_fitted_on_demonstrations_prefers_demonstrated_behaviour(tmp_path):
    agent = clips(40, 10, "policy", 4)
    demos = clips(20, 10, "demo", 5, action_mean=0.8)  # the person pushes forward
    with FeedbackStore(tmp_path / "f.db") as store:
        store.add_segments(agent)
        for demo in demos:
            store.add_demonstration(demo, "ana")
        data = training_pairs(store, 10)
    model = RewardModel(OBS, ACT, seed=0)
    model.fit(data.segments, data.pairs, data.answers, epochs=30, weights=data.weights)
    fresh_demo, fresh_agent = clips(10, 10, "demo", 6, 0.8), clips(10, 10, "policy", 7)
    assert model.segment_returns(fresh_demo).mean() > model.segment_returns(fresh_agent).mean()


def test_compare_labels_keep_their_annotator_weights(backend):
    c = clips(4, 10, "random", 8)
    with FeedbackStore(backend.address()) as store:
        store.add_segments(c)
        [q] = store.add_queries([(c[0].id, c[1].id)])
        store.add_label(q, "left", "teacher")
        store.add_rating(c[2].id, 3, "ana")
        store.add_rating(c[3].id, 3, "ana")
        data = training_pairs(store)
    assert data.kinds == ["compare", "rate"] and data.answers == ["left", "equal"]
    np.testing.assert_array_equal(data.weights, [1.0, 1.0])


def test_demonstrations_are_paired_with_agent_clips_of_their_own_length(backend):
    with FeedbackStore(backend.address()) as store:
        store.add_segments(clips(8, 7, "policy", 9) + clips(2, 10, "policy", 10))
        [demo] = clips(1, 10, "demo", 11)
        store.add_demonstration(demo, "ana")
        data = training_pairs(store, 10, pairs_per_demo=4)
    assert data.counts == {"demo": 2} and data.left_out == 0


def test_flagged_labels_and_ratings_are_left_out_of_fitting_and_counted(backend, tmp_path):
    from feedback.annotators import annotator_quality
    from feedback.report import annotator_report

    c = clips(4, 10, "random", 9)
    with FeedbackStore(backend.address()) as store:
        store.add_segments(c)
        q1, q2 = store.add_queries([(c[0].id, c[1].id), (c[2].id, c[3].id)])
        store.add_label(q1, "left", "ana", annotator_kind="human")
        store.add_label(q2, "right", "ana", annotator_kind="human", flagged=True,
                        note="clip A froze")
        store.add_rating(c[0].id, 5, "ana")
        store.add_rating(c[1].id, 1, "ana", flagged=True)  # broken: not compared
        data = training_pairs(store)
        labels = store.labels()
    assert data.answers == ["left"] and data.kinds == ["compare"] and data.flagged == 2
    assert annotator_quality(labels)["ana"]["labels"] == 1  # the usable one
    row = annotator_report(labels, [])["ana"]
    assert (row["answers"], row["flagged"], row["notes"]) == (2, 1, ["clip A froze"])
