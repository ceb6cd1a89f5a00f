"""The run report of an RLHF training run: ``report.md``, its plots, and rollout videos.

The loop calls :func:`write_report` at the end of a run (and may call it after every
iteration), so it is quick and rewrites everything in place: the plots and the Markdown are
written to temporary files and moved over the old ones, so a reader never sees half a
report. Plots use matplotlib's Agg canvas directly, which leaves the user's pyplot backend
alone. The numbers are the honest ones: the agent's *true* return next to the random
policy's and, when there is one, the true-reward agent's.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from feedback.errors import FeedbackError
from feedback.files import move_into_place, write_figure, write_text

REPORT_FILE, VIDEO_FILE = "report.md", "rollout.mp4"
RETURNS_PLOT, REWARD_MODEL_PLOT = "returns.png", "reward_model.png"
NO_BASELINE = "n/a (run with --true-reward for the baseline)"
SCORE_DEFINITION = (
    "normalised score = (learned-reward agent's true return − random policy's) / "
    "(true-reward agent's true return − random policy's); 1 matches the true-reward agent, "
    "0 is no better than random."
)
_METRIC_ROWS = (  # (metrics key, label in the table)
    ("env_id", "environment"), ("algo", "algorithm"), ("seed", "seed"),
    ("timesteps", "timesteps"), ("teacher", "teacher"), ("labels_used", "labels used"),
    ("answers", "labels by answer"),
    ("ratings_used", "ratings used"), ("demonstrations_used", "demonstrations used"),
    ("true_return_mean", "true return of the agent (mean)"),
    ("true_return_std", "true return of the agent (std)"),
    ("episode_length_mean", "evaluation episode length (mean steps)"),
    ("terminated_share", "evaluation episodes that ended by failure or their own end"),
    ("random_return_mean", "true return of a random policy"),
    ("baseline_true_return_mean", "true return of the true-reward agent"),
    ("learned_return_mean", "learned-reward return of the agent"),
    ("reward_agreement_heldout", "reward-model agreement on held-out labels"),
    ("wall_seconds", "wall time (s)"),
    ("cpu_seconds", "CPU time (s)"),
)
_HISTORY_COLUMNS = (  # (history key, column header)
    ("iteration", "iteration"), ("timesteps", "timesteps"), ("labels", "labels"),
    ("heldout_agreement", "held-out agreement"), ("return_correlation", "return corr."),
    ("true_return_mean", "true return"), ("learned_return_mean", "learned return"),
    ("agent_cpu_seconds", "agent CPU (s)"), ("feedback_cpu_seconds", "feedback CPU (s)"),
)


def _other_feedback(metrics: dict) -> str:
    """", 3 ratings and 2 demonstrations" for the report's first line ("" if none)."""
    parts = [f"{metrics[key]} {name}" for key, name in (("ratings_used", "ratings"),
             ("demonstrations_used", "demonstrations")) if metrics.get(key)]
    return ", " + " and ".join(parts) if parts else ""


def normalized_score(learned: float, random: float, true_reward_agent: float) -> float | None:
    """(learned − random) / (true_reward_agent − random); None if undefined.

    ``learned`` is the true return of the agent trained on the learned reward. None when an
    input is None or not finite, or the true-reward agent is no better or worse than random
    (|denominator| < 1e-8), where the ratio would mean nothing.
    """
    values = (learned, random, true_reward_agent)
    if any(v is None or not math.isfinite(float(v)) for v in values):
        return None
    denominator = float(true_reward_agent) - float(random)
    if abs(denominator) < 1e-8:
        return None
    return (float(learned) - float(random)) / denominator


def _fmt(value: object) -> str:
    """A number as a person reads it: ints whole, floats to a sensible precision."""
    if value is None:
        return "n/a"
    if isinstance(value, (bool, str)):
        return str(value)
    if isinstance(value, dict):  # counts by name: "left 341, right 311, ..."
        return ", ".join(f"{name} {_fmt(count)}" for name, count in value.items())
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 10 else f"{value:.3f}"


def _points(rows: Sequence[dict], x_key: str, y_key: str) -> tuple[list[float], list[float]]:
    """The (x, y) pairs of ``rows`` where both values are present and finite."""
    xs, ys = [], []
    for row in rows:
        x, y = row.get(x_key), row.get(y_key)
        if x is not None and y is not None and math.isfinite(float(x)) and math.isfinite(float(y)):
            xs.append(float(x))
            ys.append(float(y))
    return xs, ys


def _plot_returns(path: Path, metrics: dict, history: list[dict],
                  baseline_history: list[dict] | None) -> None:
    """True return against timesteps; the learned return on a second axis shows divergence."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    xs, ys = _points(history, "timesteps", "true_return_mean")
    ax.plot(xs, ys, "o-", color="tab:blue", label="learned-reward agent (true return)")
    if baseline_history:
        bx, by = _points(baseline_history, "timesteps", "true_return_mean")
        ax.plot(bx, by, "s-", color="tab:green", label="true-reward agent (true return)")
    random_return = metrics.get("random_return_mean")
    if random_return is not None and math.isfinite(float(random_return)):
        ax.axhline(float(random_return), color="gray", ls=":", label="random policy")
    ax.set_xlabel("timesteps")
    ax.set_ylabel("true return per episode")
    ax.grid(alpha=0.3)
    lx, ly = _points(history, "timesteps", "learned_return_mean")
    handles, labels = ax.get_legend_handles_labels()
    if lx:
        twin = ax.twinx()
        line = twin.plot(lx, ly, "^--", color="tab:orange", alpha=0.7,
                         label="learned return (reward model, right axis)")
        twin.set_ylabel("learned return", color="tab:orange")
        handles, labels = handles + line, labels + [line[0].get_label()]
    ax.legend(handles, labels, fontsize=8, loc="best")
    ax.set_title(f"{metrics.get('env_id', '?')} · {metrics.get('algo', '?')}: return")
    write_figure(fig, path)


def _plot_reward_model(path: Path, history: list[dict]) -> None:
    """Two panels: held-out agreement against labels, return correlation against iteration."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(9, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    xs, ys = _points(history, "labels", "heldout_agreement")
    left.plot(xs, ys, "o-", color="tab:purple")
    left.axhline(0.5, color="gray", ls=":", label="chance")
    left.set(xlabel="labels", ylabel="held-out agreement", ylim=(0, 1.02),
             title="reward model vs held-out labels")
    left.legend(fontsize=8, loc="lower right")
    xs, ys = _points(history, "iteration", "return_correlation")
    right.plot(xs, ys, "o-", color="tab:red")
    right.axhline(0.0, color="gray", ls=":")
    right.set(xlabel="iteration", ylabel="Pearson r", ylim=(-1.02, 1.02),
              title="learned vs true segment return")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (left, right):
        ax.grid(alpha=0.3)
    write_figure(fig, path)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]


def write_report(out_dir: str | os.PathLike, metrics: dict, history: list[dict],
                 baseline_history: list[dict] | None = None,
                 alerts: list[str] | None = None) -> Path:
    """Write ``report.md`` and its plots into ``out_dir``; return the path of report.md.

    Keys missing from ``metrics`` or ``history`` show as "n/a", so a report made in the
    middle of a run is as readable as the final one.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    history = list(history)
    _plot_returns(out / RETURNS_PLOT, metrics, history, baseline_history)
    _plot_reward_model(out / REWARD_MODEL_PLOT, history)

    score = metrics.get("normalized_score")
    if score is None and metrics.get("baseline_true_return_mean") is not None:
        score = normalized_score(metrics.get("true_return_mean"),
                                 metrics.get("random_return_mean"),
                                 metrics["baseline_true_return_mean"])
    has_baseline = metrics.get("baseline_true_return_mean") is not None
    score_text = _fmt(score) if score is not None else NO_BASELINE if not has_baseline else (
        "n/a (undefined: the true-reward agent's return equals the random policy's, "
        "or a return is missing)")

    rows = [(label, NO_BASELINE if key == "baseline_true_return_mean" and not has_baseline
             else _fmt(metrics.get(key))) for key, label in _METRIC_ROWS]
    lines = [f"# RLHF run: {metrics.get('env_id', '?')} with {metrics.get('algo', '?')}", "",
             f"Trained on a reward model learned from **{_fmt(metrics.get('labels_used'))}** "
             f"labels from the **{metrics.get('teacher', '?')}** teacher"
             f"{_other_feedback(metrics)}.", "",
             f"**Normalised score: {score_text}**", "", f"_{SCORE_DEFINITION}_", "",
             "## Metrics", "", *_table(("metric", "value"), rows), "",
             "## Plots", "", f"![true return against timesteps]({RETURNS_PLOT})", "",
             f"![reward-model agreement and return correlation]({REWARD_MODEL_PLOT})", "",
             "## Alerts", ""]
    lines += [f"- {' '.join(str(a).split())}" for a in alerts] if alerts else ["none"]
    lines += ["", "## Iterations", ""]
    if history:
        lines += _table([h for _, h in _HISTORY_COLUMNS],
                        [[_fmt(row.get(k)) for k, _ in _HISTORY_COLUMNS] for row in history])
    else:
        lines.append("no iterations yet")
    if (out / VIDEO_FILE).exists():
        lines += ["", "## Rollout", "", f"[{VIDEO_FILE}]({VIDEO_FILE}): the trained agent."]

    path = write_text(out / REPORT_FILE, "\n".join(lines) + "\n")
    return path


def write_video(frames: np.ndarray | Sequence[np.ndarray], path: str | os.PathLike,
                fps: int = 30) -> Path:
    """Write RGB frames (T, H, W, 3) uint8 as an H.264 mp4; return its path.

    Odd heights or widths are padded by one edge pixel, because H.264's yuv420p needs even
    sizes; nothing is rescaled (``macro_block_size=1``). The file is written under a
    temporary name and moved into place, so a crash leaves no half video behind.
    """
    import imageio.v2 as iio

    try:
        array = np.asarray(frames)
    except ValueError:
        raise FeedbackError("frames must all have the same shape (H, W, 3)") from None
    if array.ndim != 4 or array.shape[-1] != 3 or 0 in array.shape:
        raise FeedbackError(f"frames must be a non-empty (T, H, W, 3) array, got shape "
                            f"{array.shape}")
    if array.dtype != np.uint8:
        raise FeedbackError(f"frames must be uint8 RGB, got dtype {array.dtype}")
    if isinstance(fps, bool) or not fps > 0:
        raise FeedbackError(f"fps must be positive, got {fps!r}")
    pad_h, pad_w = array.shape[1] % 2, array.shape[2] % 2
    if pad_h or pad_w:
        array = np.pad(array, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix or '.mp4'}")
    try:
        with iio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264",
                            macro_block_size=1, ffmpeg_log_level="error") as writer:
            for frame in array:
                writer.append_data(frame)
        move_into_place(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
