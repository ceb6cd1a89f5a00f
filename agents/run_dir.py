"""The run directory: its checks, the checkpoint swap, and the final outputs."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from agents.config import LoopState, RunConfig
from agents.report import normalized_score, write_report, write_video
from feedback.errors import FeedbackError
from feedback.reward_model import RewardModel
from feedback.training_pairs import latest_ratings
from rlhf_envs import make_clip_renderer
from rlhf_envs.agent_checkpoint import (
    find_complete,
    save_agent,
    siblings,
    swap_in,
    write_json_durably,
)


def prepare_out(out: Path, resume: bool) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise FeedbackError(f"cannot write to --out {out}: {err.strerror or err}") from None
    if resume and not checkpoint_dir(out).exists():
        raise FeedbackError(f"--resume: no checkpoint in {out} to resume from")


def checkpoint_dir(out: Path) -> Path:
    """The checkpoint to resume from: ``checkpoint``, or what a crash in mid-swap left
    (a complete ``checkpoint.new``, else ``checkpoint.old``); the loop state's
    ``state.json`` is written last, so it marks a complete one."""
    return find_complete(out / "checkpoint") or out / "checkpoint"


def save_checkpoint(out: Path, agent, model: RewardModel | None, state: LoopState) -> None:
    """Write the whole checkpoint beside the old one, then swap: never half a checkpoint."""
    current = out / "checkpoint"
    new, _ = siblings(current)
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    save_agent(agent, new / "agent")
    if model is not None and model.label_count:
        model.save(new / "reward_model")
    write_json_durably(new / "state.json", asdict(state))
    swap_in(current)


def write_outputs(config: RunConfig, out: Path, state: LoopState, model, store, returns,
                  states, agent) -> dict:
    """metrics.json, report.md with plots, rollout.mp4."""
    baseline = None
    if config.baseline is not None:  # checked to exist before the run started
        baseline = json.loads((Path(config.baseline) / "metrics.json").read_text())
    # The reward model's view of the final policy's clips (normalised learned reward).
    learned_mean = state.history[-1]["learned_return_mean"] if state.history else None
    metrics = {
        "env_id": config.env_id,
        "algo": config.algo,
        "teacher": "true_reward" if config.true_reward else config.teacher,
        "labels_used": store.label_count() if store is not None else 0,
        "ratings_used": sum(map(len, latest_ratings(store.ratings()).values()))
        if store is not None else 0,
        "demonstrations_used": len(store.demonstrations()) if store is not None else 0,
        "timesteps": int(agent.num_timesteps),
        "seed": config.seed,
        "true_return_mean": float(np.mean(returns)),
        "true_return_std": float(np.std(returns)),
        "eval_episodes": len(returns),
        "random_return_mean": float(np.mean(state.random_returns)),
        "learned_return_mean": learned_mean,
        "reward_agreement_heldout": (model.metrics.get("heldout_agreement")
                                     if model is not None else None),
        "wall_seconds": round(state.wall_seconds, 1),
        "reward_hacking_alerts": len(state.alerts),
    }
    if baseline is not None:
        metrics["baseline_true_return_mean"] = baseline["true_return_mean"]
        metrics["normalized_score"] = normalized_score(
            metrics["true_return_mean"], metrics["random_return_mean"],
            baseline["true_return_mean"])
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2) + "\n")
    os.replace(tmp, out / "metrics.json")
    if states is not None and len(states):
        renderer = make_clip_renderer(config.env_id, 256, 256)
        try:
            write_video(np.stack([renderer.draw(s) for s in states[:300]]), out / "rollout.mp4")
        finally:
            renderer.close()
    baseline_history = None
    if baseline is not None and (Path(config.baseline) / "history.json").is_file():
        baseline_history = json.loads((Path(config.baseline) / "history.json").read_text())
    (out / "history.json").write_text(json.dumps(state.history, indent=1))
    write_report(out, metrics, state.history, baseline_history, state.alerts)
    return metrics
