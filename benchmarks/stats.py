"""Aggregate scores over seeds as rliable does: interquartile mean, stratified bootstrap.

Agarwal et al. 2021 ("Deep RL at the edge of the statistical precipice"): report the
interquartile mean (IQM: the mean of the middle 50% of runs) with a 95% percentile
confidence interval from a stratified bootstrap, where each task's runs are resampled
with replacement on their own and the statistic is taken over all tasks' runs together.

This is our own few lines, not rliable: rliable 1.2.0 installs beside numpy 2, but its
dependency arch (pinned below 8.0) fails to import beside pandas 3 (``deprecate_kwarg()
missing 1 required positional argument``), and pandas 3 is what this project's other
dependencies bring. ``tests/test_stats.py`` checks the figures against rliable's, computed
once in a side environment with pandas 2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

REPS = 2_000  # bootstrap resamples (rliable's examples use 2,000 to 50,000)


def iqm(scores: np.ndarray | Sequence[float]) -> float:
    """The interquartile mean: the mean once a quarter of the runs is cut from each end.

    As rliable's ``aggregate_iqm`` (``scipy.stats.trim_mean(scores, 0.25)``): ``n // 4``
    runs are cut from each end, so 5 runs give the mean of the middle 3, and 1 to 3 runs
    their plain mean.
    """
    x = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if not len(x):
        raise ValueError("iqm of no scores")
    cut = len(x) // 4
    return float(x[cut : len(x) - cut].mean())


def stratified_bootstrap(scores: Mapping[str, Sequence[float]],
                         statistic: Callable[[np.ndarray], float] = iqm, *,
                         reps: int = REPS, level: float = 0.95,
                         seed: int = 0) -> tuple[float, float, float]:
    """``(point, low, high)``: ``statistic`` over all tasks' runs and its percentile CI.

    :param scores: each task's (e.g. each env's) run scores; tasks may differ in runs
    :param statistic: of a flat array of scores (default :func:`iqm`)
    :param reps: bootstrap resamples
    :param level: the interval's coverage
    :param seed: the resampling's seed, so a table is reproducible
    """
    tasks = [np.asarray(v, dtype=np.float64).ravel() for v in scores.values()]
    if not tasks or any(not len(t) for t in tasks):
        raise ValueError("every task needs at least one score")
    rng = np.random.default_rng(seed)
    point = statistic(np.concatenate(tasks))
    draws = np.empty(reps)
    for k in range(reps):
        draws[k] = statistic(np.concatenate([t[rng.integers(0, len(t), len(t))] for t in tasks]))
    return (point, *interval(draws, level))


def interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The percentile interval of bootstrap draws (numpy's linear interpolation), where
    an end that touches an unbounded draw (+inf) is +inf, not numpy's nan."""
    ordered = np.sort(np.asarray(draws, dtype=np.float64))
    ends = []
    for q in ((1 - level) / 2, (1 + level) / 2):
        above = ordered[int(np.ceil(q * (len(ordered) - 1)))]
        ends.append(float(np.percentile(ordered, q * 100)) if np.isfinite(above) else np.inf)
    return ends[0], ends[1]


def reference_bootstrap(runs: Sequence[float], reference: Sequence[float], floor: float,
                        statistic: Callable[[np.ndarray], float] = iqm, *,
                        reps: int = REPS, level: float = 0.95,
                        seed: int = 0) -> tuple[float, float, float]:
    """``(point, low, high)``: ``statistic`` of ``(run - floor) / (mean(reference) -
    floor)`` over the runs, and its percentile CI from resampling the runs and the
    reference runs each on their own.

    One reference score for every run, as rliable normalises by a task's fixed score,
    rather than each run by its own seed's reference run; the reference's spread is in
    the interval. A resample whose reference mean is not above the floor has no scale,
    and counts as an unbounded score (+inf), so the interval says so.

    :param runs: the runs' returns (e.g. the learned-reward agents', one per seed)
    :param reference: the reference runs' returns (e.g. the true-reward agents')
    :param floor: the score's zero (e.g. the random policy's mean return)
    :param statistic: of a flat array of scores (default :func:`iqm`)
    :param reps: bootstrap resamples
    :param level: the interval's coverage
    :param seed: the resampling's seed, so a table is reproducible
    """
    x = np.asarray(runs, dtype=np.float64).ravel()
    ref = np.asarray(reference, dtype=np.float64).ravel()
    if not len(x) or not len(ref):
        raise ValueError("reference_bootstrap needs at least one run and one reference run")
    if not ref.mean() > floor:
        raise ValueError(f"the reference runs' mean ({ref.mean():g}) is not above the floor "
                         f"({floor:g}): no scale to score by")
    rng = np.random.default_rng(seed)
    point = statistic((x - floor) / (ref.mean() - floor))
    draws = np.empty(reps)
    for k in range(reps):
        scale = ref[rng.integers(0, len(ref), len(ref))].mean() - floor
        resampled = x[rng.integers(0, len(x), len(x))]
        draws[k] = statistic((resampled - floor) / scale) if scale > 0 else np.inf
    return (point, *interval(draws, level))
