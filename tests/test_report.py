"""The run report: report.md with metrics, score, alerts and history; plots; rollout video."""

from __future__ import annotations

import re

import imageio.v3 as iio
import numpy as np
import pytest

from agents.report import (
    NO_BASELINE,
    RETURNS_PLOT,
    REWARD_MODEL_PLOT,
    normalized_score,
    write_report,
    write_video,
)
from feedback.errors import FeedbackError

ALERT = ("iteration 4: learned return rose while true return fell over two iterations "
         "(possible reward hacking)")


def _metrics(baseline: bool) -> dict:
    metrics = {
        "env_id": "rlhf_envs/HalfCheetah-v0", "algo": "sac", "teacher": "bradley_terry",
        "labels_used": 750, "answers": {"left": 370, "right": 300, "equal": 5, "skip": 75},
        "timesteps": 60000, "seed": 3, "true_return_mean": 1234.5678,
        "true_return_std": 87.654, "random_return_mean": -283.21,
        "learned_return_mean": 41.987, "reward_agreement_heldout": 0.8734,
        "wall_seconds": 321.9,
    }
    if baseline:
        metrics["baseline_true_return_mean"] = 2190.4
    return metrics


def _history() -> list[dict]:
    rows = []
    for i in range(6):
        rows.append({
            "iteration": i, "timesteps": 10000 * (i + 1), "labels": 125 * (i + 1),
            "heldout_agreement": None if i == 0 else 0.6 + 0.05 * i,
            "return_correlation": None if i == 0 else 0.3 + 0.1 * i,
            "true_return_mean": -250.0 + 300.0 * i, "learned_return_mean": 5.0 + 7.5 * i,
        })
    return rows


def _baseline_history() -> list[dict]:
    return [{"timesteps": 10000 * (i + 1), "true_return_mean": -200.0 + 400.0 * i}
            for i in range(6)]


def _assert_real_image(path) -> None:
    image = iio.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
    rgb = image[..., :3].astype(int)
    # not blank: many distinct colours, and some pixels far from the background
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 20
    assert (np.abs(rgb - rgb[0, 0]).sum(axis=-1) > 100).mean() > 0.01


def test_report_with_baseline_and_alerts(tmp_path):
    metrics = _metrics(baseline=True)
    path = write_report(tmp_path, metrics, _history(), _baseline_history(), alerts=[ALERT])
    assert path == tmp_path / "report.md"
    text = path.read_text()
    assert "rlhf_envs/HalfCheetah-v0" in text and "sac" in text
    score = (1234.5678 + 283.21) / (2190.4 + 283.21)
    assert f"Normalised score: {score:.3f}" in text
    assert "random policy's" in text  # the definition is given
    assert ALERT in text
    assert "bradley_terry" in text and "750" in text
    assert "| labels by answer | left 370, right 300, equal 5, skip 75 |" in text
    for value in ("1,235", "87.65", "-283.21", "2,190", "41.99", "0.873", "321.90", "60,000"):
        assert value in text, value
    # one history row per iteration, None shown as n/a
    assert "| 0 | 10,000 | 125 | n/a | n/a | -250.00 | 5.000 |" in text
    assert "| 5 | 60,000 | 750 | 0.850 | 0.800 | 1,250 | 42.50 |" in text
    assert "rollout.mp4" not in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert set(links) == {RETURNS_PLOT, REWARD_MODEL_PLOT}
    for link in links:
        _assert_real_image(tmp_path / link)
    assert not list(tmp_path.glob("*.tmp"))


def test_report_without_baseline_or_alerts_and_with_video(tmp_path):
    write_video(np.zeros((3, 16, 16, 3), np.uint8), tmp_path / "rollout.mp4")
    text = write_report(tmp_path, _metrics(baseline=False), _history()).read_text()
    assert f"Normalised score: {NO_BASELINE}" in text
    assert re.search(r"## Alerts\s+none", text)
    assert "[rollout.mp4](rollout.mp4)" in text


def test_report_given_score_and_empty_history(tmp_path):
    metrics = {**_metrics(baseline=True), "normalized_score": 0.61234}
    text = write_report(tmp_path, metrics, []).read_text()
    assert "Normalised score: 0.612" in text
    assert "no iterations yet" in text
    assert (tmp_path / RETURNS_PLOT).stat().st_size > 1000


def test_report_undefined_score_and_backend_untouched(tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    metrics = {**_metrics(baseline=True), "baseline_true_return_mean": -283.21}
    text = write_report(tmp_path, metrics, _history()).read_text()
    assert "Normalised score: n/a (undefined" in text
    assert matplotlib.get_backend() == backend


def test_normalized_score():
    assert normalized_score(-10, -40, -5) == pytest.approx(30 / 35)
    assert normalized_score(-40, -40, -5) == 0.0
    assert normalized_score(5, 5, 5) is None
    assert normalized_score(1, 0, 1e-10) is None
    assert normalized_score(None, 0, 1) is None


@pytest.mark.parametrize("height,width", [(128, 128), (70, 100), (33, 47)])
def test_write_video_round_trip(tmp_path, height, width):
    rng = np.random.default_rng(0)
    frames = [np.full((height, width, 3), 10 * t, np.uint8) for t in range(20)]
    frames[5] = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    path = write_video(frames, tmp_path / "sub" / "rollout.mp4", fps=15)
    assert path.exists() and not list(path.parent.glob(".*tmp*"))
    video = iio.imread(path, index=None)
    assert video.shape == (20, height + height % 2, width + width % 2, 3)
    assert abs(int(video[12, height // 2, width // 2, 0]) - 120) < 8


@pytest.mark.parametrize("frames", [
    np.zeros((0, 8, 8, 3), np.uint8),
    [],
    np.zeros((4, 8, 8), np.uint8),
    np.zeros((4, 8, 8, 4), np.uint8),
    np.zeros((4, 8, 8, 3), np.float32),
    [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 6, 3), np.uint8)],
])
def test_write_video_rejects_bad_frames(tmp_path, frames):
    with pytest.raises(FeedbackError) as err:
        write_video(frames, tmp_path / "bad.mp4")
    assert "\n" not in str(err.value) and str(err.value)
    assert not (tmp_path / "bad.mp4").exists()
