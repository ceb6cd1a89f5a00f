import numpy as np
import pytest
from conftest import one_line
from gymnasium import spaces

from feedback.errors import FeedbackError
from feedback.queries import preference_probabilities, score_pairs, select_pairs
from feedback.reward_model import RewardModel
from feedback.segments import sample_pairs
from feedback.teachers import make_teacher


@pytest.fixture(scope="module")
def small_model(cheetah_train):
    model = RewardModel(spaces.Box(-np.inf, np.inf, (17,)), spaces.Box(-1, 1, (6,)), seed=0)
    pairs = sample_pairs(len(cheetah_train), 60, np.random.default_rng(0))
    answers = make_teacher("oracle").answer_segments(
        [cheetah_train[i] for i in pairs[:, 0]], [cheetah_train[i] for i in pairs[:, 1]])
    model.fit(cheetah_train, pairs, answers, epochs=5)
    return model


def test_uniform_pairs_skip_what_was_asked(cheetah_train):
    segments = cheetah_train[:6]  # 15 unordered pairs in all
    asked = {frozenset((segments[0].id, segments[1].id))}
    pairs = select_pairs(segments, 14, np.random.default_rng(0), strategy="uniform",
                         exclude=asked, oversample=1)
    keys = {frozenset((segments[i].id, segments[j].id)) for i, j in pairs}
    assert len(keys) == len(pairs) and not keys & asked
    assert (pairs[:, 0] != pairs[:, 1]).all()


@pytest.mark.parametrize("strategy", ["disagreement", "entropy"])
def test_informed_strategies_pick_more_informative_pairs(cheetah_train, small_model, strategy):
    rng = np.random.default_rng(1)
    chosen = select_pairs(cheetah_train, 50, rng, strategy=strategy, model=small_model)
    random = sample_pairs(len(cheetah_train), 500, rng)
    returns = small_model.member_returns(cheetah_train)

    def scores(pairs):
        return score_pairs(strategy, preference_probabilities(returns, pairs))

    assert len(chosen) == 50
    assert scores(chosen).mean() > np.quantile(scores(random), 0.75)


def test_probabilities_and_scores():
    returns = np.array([[0.0, 0.0, 10.0], [0.0, 5.0, -10.0]])  # two members, three clips
    probabilities = preference_probabilities(returns, np.array([[0, 1], [2, 0]]))
    np.testing.assert_allclose(probabilities[:, 0], [0.5, 1 / (1 + np.exp(5))])
    spread = score_pairs("disagreement", probabilities)
    assert spread[1] > spread[0]
    entropy = score_pairs("entropy", np.array([[0.5, 0.99]]))
    assert entropy[0] == pytest.approx(np.log(2)) and entropy[1] < 0.1


def test_bad_query_requests(cheetah_train):
    rng = np.random.default_rng(0)
    with pytest.raises(FeedbackError) as err:
        select_pairs(cheetah_train, 5, rng, strategy="vibes")
    assert "unknown query strategy 'vibes'" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        select_pairs(cheetah_train, -2, rng)
    assert "number of queries" in one_line(err)
