"""The run directory: its checks, the checkpoint swap, and the final outputs.

Every file is written through :mod:`feedback.files` (a temporary name, fsync, rename),
so a crash leaves the old file or the new one. The checkpoint is a directory written
whole beside the old one and swapped in; its ``state.json`` is written last.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from agents.config import LoopState, RunConfig
from agents.envs import Evaluation
from agents.report import normalized_score, write_report, write_video
from feedback.errors import FeedbackError
from feedback.files import find_complete, siblings, swap_in, write_json
from feedback.reward_model import RewardModel
from rlhf_envs import make_clip_renderer
from rlhf_envs.sb3.checkpoint import save_agent
from rlhf_envs.wrappers import ReturnNormalizer

CHECKPOINT, STATE_FILE = "checkpoint", "state.json"
NORMALIZATION_FILE = "reward_normalization.json"
VIDEO_STEPS, VIDEO_SIZE = 300, 256  # the rollout video: at most this many frames, square


def prepare_out(out: Path, resume: bool) -> Path:
    """Make sure ``out`` can be written (and, to resume, holds a checkpoint); return it."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise FeedbackError(f"cannot write to --out {out}: {err.strerror or err}") from None
    if resume and not checkpoint_dir(out).exists():
        raise FeedbackError(f"--resume: no checkpoint in {out} to resume from")
    return out


def checkpoint_dir(out: Path) -> Path:
    """The checkpoint to resume from: ``checkpoint``, or what a crash in mid-swap left.

    After such a crash it is a complete ``checkpoint.new``, else ``checkpoint.old``.
    """
    return find_complete(out / CHECKPOINT, STATE_FILE) or out / CHECKPOINT


def save_checkpoint(out: Path, agent: BaseAlgorithm, model: RewardModel | None, envs,
                    state: LoopState) -> None:
    """Write the whole checkpoint beside the old one, then swap: never half a checkpoint."""
    current = out / CHECKPOINT
    new, _ = siblings(current)
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    save_agent(agent, new / "agent")
    if model is not None and model.label_count:
        model.save(new / "reward_model")
    if envs.normalizer is not None:  # the reward's running scale goes on after a resume
        state.reward_normalization = envs.normalizer.state_dict()
    write_json(new / STATE_FILE, asdict(state))
    swap_in(current)


def write_outputs(config: RunConfig, out: Path, state: LoopState, model: RewardModel | None,
                  counts: dict[str, int | dict[str, int]], evaluation: Evaluation,
                  agent: BaseAlgorithm,
                  normalizer: ReturnNormalizer | None) -> dict:
    """Write the run's final outputs into ``out``; return the metrics.

    The outputs: metrics.json, history.json, the reward's normalisation (if normalised),
    report.md with its plots, and rollout.mp4 (if render states were kept).
    """
    returns, render_states = evaluation.returns, evaluation.render_states
    baseline = None
    if config.baseline is not None:  # checked to exist before the run started
        baseline = json.loads((Path(config.baseline) / "metrics.json").read_text())
    # The reward model's view of the final policy's segments (normalised learned reward).
    learned_mean = state.history[-1]["learned_return_mean"] if state.history else None
    metrics = {
        "env_id": config.env_id,
        "algo": config.algo,
        "teacher": (f"term:{config.reward_term}" if config.reward_term else "true_reward")
        if config.true_reward else config.teacher,
        **counts,
        "timesteps": int(agent.num_timesteps),
        "seed": config.seed,
        "true_return_mean": float(np.mean(returns)),
        "true_return_std": float(np.std(returns)),
        "eval_episodes": len(returns),
        **evaluation.summary(),
        "random_return_mean": float(np.mean(state.random_returns)),
        "learned_return_mean": learned_mean,
        "reward_agreement_heldout": (model.metrics.get("heldout_agreement")
                                     if model is not None else None),
        # the last iteration's, on the agent's fresh segments (see agents.monitoring)
        "reward_agreement_oracle": (state.history[-1].get("oracle_agreement")
                                    if state.history else None),
        "wall_seconds": round(state.wall_seconds, 1),
        "cpu_seconds": None if state.cpu_seconds is None else round(state.cpu_seconds, 1),
        "reward_hacking_alerts": len(state.alerts),
    }
    if baseline is not None:
        metrics["baseline_true_return_mean"] = baseline["true_return_mean"]
        metrics["normalized_score"] = normalized_score(
            metrics["true_return_mean"], metrics["random_return_mean"],
            baseline["true_return_mean"])
    write_json(out / "metrics.json", metrics, indent=2)
    if normalizer is not None:
        write_json(out / NORMALIZATION_FILE, normalizer.state_dict(), indent=2)
    else:  # a run done again without normalisation leaves no stale statistics
        (out / NORMALIZATION_FILE).unlink(missing_ok=True)
    if render_states is not None and len(render_states):
        renderer = make_clip_renderer(config.env_id, VIDEO_SIZE, VIDEO_SIZE)
        try:
            frames = [renderer.draw(s) for s in render_states[:VIDEO_STEPS]]
            write_video(np.stack(frames), out / "rollout.mp4")
        finally:
            renderer.close()
    baseline_history = None
    if baseline is not None and (Path(config.baseline) / "history.json").is_file():
        baseline_history = json.loads((Path(config.baseline) / "history.json").read_text())
    write_json(out / "history.json", state.history)
    write_report(out, metrics, state.history, baseline_history, state.alerts)
    return metrics
