"""benchmarks.agreement_gaps: a run's reward model against the oracle by the gap between
a pair's true returns, on held-out and fresh pairs, and fresh pairs at held-out gaps."""

import numpy as np
import pytest


def test_agreement_by_gap_bins_strict_pairs_by_gap_and_counts_ties_apart():
    from benchmarks.agreement_gaps import by_gap

    true = np.array([0.0, 0.05, 1.0, 1.0, 2.0, 5.0, 3.0, 3.2])
    learned = np.array([1.0, 0.0, 0.0, 9.0, 0.0, 1.0, 2.0, 1.0])  # wrong on the near-ties
    pairs = np.array([[0, 1], [2, 3], [4, 5], [6, 7]])  # gaps 0.05, 0 (tie), 3, 0.2
    found = by_gap(learned, true, pairs, bins=3)
    assert found["pairs"] == 4 and found["ties"] == 1
    assert found["agreement"] == pytest.approx(1 / 3)
    assert [(b["pairs"], b["agreement"]) for b in found["bins"]] == [(1, 0.0), (1, 0.0),
                                                                       (1, 1.0)]
    assert found["bins"][0]["gap_high"] == pytest.approx(0.05)
    assert found["bins"][2]["gap_low"] == pytest.approx(3.0)


def test_agreement_gaps_scores_a_runs_heldout_and_fresh_pairs_against_the_oracle(
        tmp_path, cheetah_train, cheetah_test):
    import dataclasses

    from gymnasium import spaces

    from benchmarks.agreement_gaps import main
    from feedback.reward_model import RewardModel
    from feedback.segments import sample_pairs
    from feedback.store import FeedbackStore
    from feedback.teachers import make_teacher

    # the labelled clips are policy clips too: a labelled clip is never fresh
    train = [dataclasses.replace(s, source="policy") for s in cheetah_train]
    pairs = sample_pairs(len(train), 200, np.random.default_rng(0))
    left, right = [train[i] for i in pairs[:, 0]], [train[i] for i in pairs[:, 1]]
    answers = make_teacher("oracle").answer_segments(left, right)
    model = RewardModel(spaces.Box(-np.inf, np.inf, (17,)), spaces.Box(-1, 1, (6,)), seed=0)
    fit = model.fit(train, pairs, answers, epochs=5)
    labelled = {s.id for s in left + right}
    unlabelled = [s for s in train if s.id not in labelled]
    fresh = [dataclasses.replace(s, source="policy") for s in cheetah_test[:13]]
    tied, fresh = fresh[:2], fresh[2:]  # a pair answered "equal": not fresh either
    random_clips = [dataclasses.replace(s, source="random") for s in cheetah_test[13:15]]
    run = tmp_path / "run"
    model.save(run / "reward_model")
    with FeedbackStore(run / "feedback.db") as store:
        store.add_segments(train + fresh + random_clips + tied)  # tied and random last
        queries = store.add_queries([(a.id, b.id) for a, b in zip(left, right)]
                                    + [(tied[0].id, tied[1].id)])
        store.add_labels(zip(queries, [*answers, "equal"]), "oracle")

    found = main([str(run), "--fresh", "11", "--bins", "2",
                  "--out", str(tmp_path / "gaps.json")])["runs"]["run"]
    # the oracle taught it, so agreement with the oracle held out is the fit's own
    assert found["heldout"]["pairs"] == fit.n_heldout
    assert found["heldout"]["agreement"] == pytest.approx(fit.heldout_agreement)
    # the last 11 unlabelled policy clips: the 11 fresh ones (not the earlier unlabelled
    # training clips, nor the later random clips and tied pair), 5 consecutive pairs
    assert len(unlabelled) > 11 and found["fresh"]["pairs"] == 5
    assert sum(b["pairs"] for b in found["fresh"]["bins"]) + found["fresh"]["ties"] == 5
    true = np.array([s.true_rewards.sum() for s in fresh[:10]])
    learned = model.segment_returns(fresh[:10])
    agree = (learned[0::2] > learned[1::2]) == (true[0::2] > true[1::2])
    assert found["fresh"]["agreement"] == pytest.approx(agree.mean())
    # 5 fresh pairs, 5 neighbours: every held-out pair is matched to all of them
    matched = found["fresh_at_heldout_gaps"]
    assert matched["pairs"] == fit.n_heldout and matched["neighbours"] == 5
    assert matched["agreement"] == pytest.approx(agree.mean())


def test_agreement_gaps_reads_a_run_without_strict_labels(tmp_path, cheetah_train):
    from gymnasium import spaces

    from benchmarks.agreement_gaps import agreement_gaps
    from feedback.reward_model import RewardModel
    from feedback.store import FeedbackStore

    RewardModel(spaces.Box(-np.inf, np.inf, (17,)), spaces.Box(-1, 1, (6,)), seed=0).save(
        tmp_path / "reward_model")
    with FeedbackStore(tmp_path / "feedback.db") as store:
        store.add_segments(cheetah_train[:4])
        store.add_labels(zip(store.add_queries([(cheetah_train[0].id, cheetah_train[1].id)]),
                             ["skip"]), "oracle")
    found = agreement_gaps(tmp_path)  # no strict label, no policy clip: nothing to score
    assert {split: found[split] for split in ("heldout", "fresh")} == {
        split: {"pairs": 0, "ties": 0, "agreement": None, "bins": []}
        for split in ("heldout", "fresh")}
    assert found["fresh_at_heldout_gaps"]["agreement"] is None


def test_fresh_pairs_at_heldout_gaps_take_their_nearest_pairs_agreement():
    from benchmarks.agreement_gaps import at_gaps

    gap = np.array([0.1, 0.2, 0.3, 5.0, 6.0, 7.0])
    agree = np.array([False, False, True, True, True, True])  # wrong on two near-ties
    # two close reference pairs: each takes the 3 smallest gaps (1/3); the far one 1.0
    found = at_gaps(gap, agree, np.array([0.15, 0.2, 6.5]), neighbours=3)
    assert found["agreement"] == pytest.approx((1 / 3 + 1 / 3 + 1) / 3)
    assert found["pairs"] == 3 and found["neighbours"] == 3
    assert found["median_gap"] == pytest.approx(0.2)
    assert found["median_matched_gap"] == pytest.approx(0.3)
    # overall the fresh pairs agree on 4/6; at close gaps they read lower
    assert at_gaps(gap, agree, np.array([0.2]), 3)["agreement"] < agree.mean()
    # more neighbours than pairs: all of them; nothing to match: None, counted
    assert at_gaps(gap, agree, np.array([0.2]), 50)["neighbours"] == 6
    assert at_gaps(gap[:0], agree[:0], np.array([0.2]))["agreement"] is None
    assert at_gaps(gap, agree, gap[:0])["pairs"] == 0
