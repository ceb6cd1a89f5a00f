"""benchmarks.stats: IQM and stratified-bootstrap intervals, against rliable's figures."""

import numpy as np
import pytest

from benchmarks.stats import interval, iqm, reference_bootstrap, stratified_bootstrap

# 5 runs x 3 tasks, and rliable 1.2.0's figures for it (numpy 2.4.6, pandas 2.3.3, arch
# 7.2.0, in a side venv): get_interval_estimates({"a": RUNS}, aggregate_iqm, reps=50000).
RUNS = np.array([[0.1, 0.9, 0.4], [0.5, 1.2, 0.3], [0.9, 0.8, 0.6], [1.0, 1.1, 0.2],
                 [0.7, 0.95, 0.55]])
RLIABLE_IQM, RLIABLE_CI = 0.7, (0.5556, 0.8167)


def test_iqm_cuts_a_quarter_of_the_runs_from_each_end_as_rliable_does():
    assert iqm([3, 1, 4, 1, 5, 9, 2]) == 3.0  # rliable: 3.0 (cuts one from each end)
    assert iqm([1, 2, 3, 4, 100]) == 3.0 and iqm([5.0]) == 5.0 and iqm([1, 3]) == 2.0
    assert iqm(RUNS) == pytest.approx(RLIABLE_IQM)
    with pytest.raises(ValueError, match="no scores"):
        iqm([])


def test_the_stratified_bootstrap_interval_matches_rliable():
    tasks = {f"task{k}": RUNS[:, k] for k in range(RUNS.shape[1])}
    point, low, high = stratified_bootstrap(tasks, reps=20_000)
    assert point == pytest.approx(RLIABLE_IQM)
    assert low == pytest.approx(RLIABLE_CI[0], abs=0.02)
    assert high == pytest.approx(RLIABLE_CI[1], abs=0.02)
    assert stratified_bootstrap(tasks, reps=500) == stratified_bootstrap(tasks, reps=500)


def test_each_task_keeps_its_own_runs_and_a_constant_has_no_spread():
    point, low, high = stratified_bootstrap({"a": [1.0, 1.0, 1.0], "b": [1.0]}, reps=200)
    assert point == low == high == 1.0
    with pytest.raises(ValueError, match="at least one score"):
        stratified_bootstrap({"a": []})


def test_scores_against_the_reference_mean_resample_both_sides():
    learned, floor = np.linspace(10.0, 90.0, 20), 10.0
    point, low, high = reference_bootstrap(learned, [60.0] * 5, floor, reps=20_000)
    scores = (learned - floor) / 50.0
    assert point == pytest.approx(iqm(scores)) == pytest.approx(0.8)
    # A constant reference: the scores' own bootstrap interval (from other draws).
    own = stratified_bootstrap({"a": scores}, reps=20_000)
    assert (low, high) == pytest.approx(own[1:], abs=0.02)
    # The same mean with a spread: the point stays, the interval widens.
    spread = reference_bootstrap(learned, [20.0, 40.0, 60.0, 80.0, 100.0], floor, reps=20_000)
    assert spread[0] == pytest.approx(point)
    assert spread[1] < low - 0.05 and spread[2] > high + 0.3
    # Constant runs: the interval is the reference's alone, 40 over its resampled means.
    alone = reference_bootstrap([50.0] * 3, [30.0, 50.0], floor, reps=2_000)
    assert alone == pytest.approx((4 / 3, 1.0, 2.0))


def test_a_reference_not_above_the_floor_is_refused_and_a_resample_of_it_is_unbounded():
    with pytest.raises(ValueError, match="not above the floor"):
        reference_bootstrap([5.0], [10.0, 10.0], 10.0)
    with pytest.raises(ValueError, match="not above the floor"):
        reference_bootstrap([5.0], [-50.0, -40.0], 0.0)  # would negate every score
    with pytest.raises(ValueError, match="at least one run"):
        reference_bootstrap([], [60.0], 10.0)
    # A quarter of the resamples of [0, 2] over floor 0 draw [0, 0]: no scale, and the
    # interval's top is unbounded; its bottom is a finite score.
    point, low, high = reference_bootstrap([5.0, 6.0, 7.0], [0.0, 2.0], 0.0, reps=2_000)
    assert point == 6.0 and 2.5 <= low < 3.0 and high == float("inf")
    assert interval(np.array([1.0, 2.0, 3.0, np.inf])) == pytest.approx((1.075, np.inf))
