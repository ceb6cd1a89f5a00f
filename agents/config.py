"""What a run is asked to do (``RunConfig``) and what its checkpoint remembers (``LoopState``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from stable_baselines3 import PPO, SAC

from feedback.errors import FeedbackError
from feedback.store import check_annotator_name
from feedback.teachers import make_teacher
from rlhf_envs import ENV_IDS

ALGOS = {"ppo": PPO, "sac": SAC}
STORE_TEACHER = "store"  # no new questions: fit on the labels already in the store
HUMAN_TEACHER = "human"  # a person answers in the viewer (agents/human_teacher.py)


@dataclass
class RunConfig:
    """What ``python -m agents.train`` asks for; ``None`` takes the hyperparams table's."""

    env_id: str
    algo: str = "ppo"
    teacher: str = "oracle"
    labels: int = 200
    timesteps: int = 50_000
    seed: int = 0
    n_envs: int | None = None
    device: str = "auto"
    out: Path = Path("runs/latest")
    true_reward: bool = False
    resume: bool = False
    baseline: Path | None = None
    query_strategy: str = "disagreement"
    iterations: int | None = None
    progress: bool = True
    annotator: str = field(default_factory=lambda: os.environ.get("USER", "annotator"))


@dataclass
class LoopState:
    """What a checkpoint remembers besides the agent and the reward model."""

    iteration: int = 0  # the next iteration to run
    history: list[dict] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    buffer_ids: list[str] = field(default_factory=list)
    random_returns: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    resumes: int = 0  # seeds segment ids apart from those of the runs before a kill


def resolve_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise FeedbackError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise FeedbackError("--device cuda asked for, but torch sees no CUDA device here")
    return ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device


def check_config(config: RunConfig) -> str:
    """Validate what a user typed; return the env's short name. One-line errors."""
    env_id = config.env_id if "/" in config.env_id else f"rlhf_envs/{config.env_id}"
    if env_id not in ENV_IDS:
        raise FeedbackError(f"unknown env {config.env_id!r}; choose one of: {', '.join(ENV_IDS)}")
    config.env_id = env_id
    if config.algo not in ALGOS:
        raise FeedbackError(f"unknown algo {config.algo!r}; choose ppo or sac")
    if config.teacher == HUMAN_TEACHER:
        check_annotator_name(config.annotator)
    elif config.teacher != STORE_TEACHER and not config.true_reward:
        make_teacher(config.teacher)  # raises for unknown names
    for name in ("labels", "timesteps", "seed"):
        value = getattr(config, name)
        if value < 0:
            raise FeedbackError(f"--{name} must be at least 0, got {value}")
    if not config.true_reward and config.teacher != STORE_TEACHER and config.labels == 0:
        raise FeedbackError("--labels 0 leaves nothing to learn a reward from "
                            "(give a budget, or train on --true-reward)")
    if config.baseline is not None and not (Path(config.baseline) / "metrics.json").is_file():
        raise FeedbackError(f"--baseline {config.baseline}: no metrics.json there "
                            "(a finished --true-reward run)")
    for name in ("n_envs", "iterations"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise FeedbackError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    return env_id.split("/", 1)[1]
