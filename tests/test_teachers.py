import numpy as np
import pytest
from conftest import one_line

from feedback.answers import EQUAL, LEFT, RIGHT, SKIP
from feedback.errors import FeedbackError
from feedback.teachers import make_teacher


def constant(returns, steps=10):
    """Per-step rewards of clips whose returns are ``returns``."""
    return np.repeat(np.asarray(returns, float)[:, None] / steps, steps, axis=1)


def test_oracle_prefers_the_higher_return_and_calls_ties_equal():
    teacher = make_teacher("oracle")
    answers = teacher.answer(constant([1.0, 5.0, 2.0]), constant([3.0, -1.0, 2.0]))
    assert answers == [RIGHT, LEFT, EQUAL]


def test_bradley_terry_matches_the_logistic_probability_and_is_seeded():
    left, right = constant(np.zeros(20_000)), constant(np.ones(20_000))
    answers = make_teacher("bradley_terry", seed=3).answer(left, right)
    share_right = np.mean(np.array(answers) == RIGHT)
    assert share_right == pytest.approx(1 / (1 + np.exp(-1.0)), abs=0.01)
    assert answers == make_teacher("bradley_terry", seed=3).answer(left, right)
    assert answers != make_teacher("bradley_terry", seed=4).answer(left, right)


def test_myopic_teacher_weights_later_steps_more():
    early, late = np.zeros((1, 50)), np.zeros((1, 50))
    early[0, 0], late[0, -1] = 1.2, 1.0  # early clip has the higher sum
    assert make_teacher("oracle").answer(early, late) == [LEFT]
    assert make_teacher("myopic").answer(early, late) == [RIGHT]


def test_mistake_teacher_flips_about_eps_of_answers():
    left, right = constant(np.zeros(20_000)), constant(np.ones(20_000))
    answers = np.array(make_teacher("mistake", seed=0).answer(left, right))
    assert np.mean(answers == LEFT) == pytest.approx(0.1, abs=0.01)


def test_skip_teacher_skips_pairs_of_two_bad_clips_even_with_negative_returns():
    returns = np.linspace(-100, -10, 101)  # Reacher-like: every return is negative
    teacher = make_teacher("skip")
    teacher.calibrate(returns)
    answers = teacher.answer(constant([-99.0, -99.0, -20.0]), constant([-98.0, -30.0, -25.0]))
    assert answers == [SKIP, RIGHT, LEFT]


def test_equal_teacher_calls_close_returns_equal():
    teacher = make_teacher("equal")
    teacher.calibrate(np.array([0.0, 100.0]))
    answers = teacher.answer(constant([50.0, 50.0]), constant([55.0, 70.0]))
    assert answers == [EQUAL, RIGHT]


def test_teacher_answers_segments(cheetah_train):
    left, right = cheetah_train[:20], cheetah_train[20:40]
    answers = make_teacher("oracle").answer_segments(left, right)
    expected = [LEFT if a.true_return > b.true_return else RIGHT for a, b in zip(left, right)]
    assert answers == expected


def test_bad_teacher_input_is_one_line():
    with pytest.raises(FeedbackError) as err:
        make_teacher("psychic")
    assert "unknown teacher 'psychic'" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        make_teacher("oracle", eps_mistake=1.5)
    assert "eps_mistake" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        make_teacher("oracle", temperature=1.0)
    assert "temperature" in one_line(err)
