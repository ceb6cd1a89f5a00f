import numpy as np
import pytest
from conftest import one_line

from feedback.errors import FeedbackError
from feedback.segments import Segment, SegmentBuffer, cut_segments, sample_pairs, true_returns


def trajectory(steps: int = 120):
    rng = np.random.default_rng(0)
    return rng.normal(size=(steps + 1, 4)), rng.normal(size=(steps, 2)), rng.normal(size=steps)


def test_cut_segments_keeps_aligned_slices_and_drops_the_short_tail():
    obs, acts, rewards = trajectory(120)
    terms = {"forward": rewards * 2}
    states = np.arange(120 * 3, dtype=float).reshape(120, 3)
    segments = cut_segments(obs, acts, rewards, reward_terms=terms, render_states=states,
                            length=50, env_id="E", source="random", episode=7)
    assert [s.start for s in segments] == [0, 50]
    second = segments[1]
    np.testing.assert_array_equal(second.obs, obs[50:100])
    np.testing.assert_array_equal(second.next_obs, obs[51:101])
    np.testing.assert_array_equal(second.acts, acts[50:100])
    np.testing.assert_array_equal(second.reward_terms["forward"], rewards[50:100] * 2)
    np.testing.assert_array_equal(second.render_states, states[50:100])
    assert second.true_return == pytest.approx(rewards[50:100].sum())
    assert (second.env_id, second.source, second.episode) == ("E", "random", 7)
    assert segments[0].id != segments[1].id


def test_cut_segments_with_stride_overlaps():
    obs, acts, rewards = trajectory(100)
    segments = cut_segments(obs, acts, rewards, length=50, stride=25)
    assert [s.start for s in segments] == [0, 25, 50]


def test_cut_segments_rejects_bad_input():
    obs, acts, rewards = trajectory(100)
    with pytest.raises(FeedbackError) as err:
        cut_segments(obs, acts, rewards, length=0)
    assert "segment length" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        cut_segments(obs[:-1], acts, rewards)
    assert "obs needs 101 rows" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        Segment(obs=obs[:10], acts=acts[:9], next_obs=obs[1:11], true_rewards=rewards[:10])
    one_line(err)


def test_buffer_is_bounded_and_keeps_the_newest():
    obs, acts, rewards = trajectory(500)
    segments = cut_segments(obs, acts, rewards, length=50)
    buffer = SegmentBuffer(capacity=4)
    buffer.add(segments)
    assert len(buffer) == 4
    assert [s.id for s in buffer] == [s.id for s in segments[-4:]]
    np.testing.assert_allclose(true_returns(buffer.segments),
                               [s.true_return for s in segments[-4:]])
    short = cut_segments(obs, acts, rewards, length=20)[0]
    with pytest.raises(FeedbackError) as err:
        buffer.add(short)
    one_line(err)
    with pytest.raises(FeedbackError) as err:
        SegmentBuffer(capacity=-1)
    assert "capacity" in one_line(err)


def test_sample_pairs_are_distinct_and_cover_the_population():
    pairs = sample_pairs(5, 2000, np.random.default_rng(0))
    assert pairs.shape == (2000, 2)
    assert (pairs[:, 0] != pairs[:, 1]).all()
    assert set(pairs.ravel().tolist()) == set(range(5))
    with pytest.raises(FeedbackError) as err:
        sample_pairs(5, -1, np.random.default_rng(0))
    assert "at least 0" in one_line(err)
    with pytest.raises(FeedbackError):
        sample_pairs(1, 3, np.random.default_rng(0))
