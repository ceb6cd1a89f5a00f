"""What a run is asked to do (``RunConfig``) and what its checkpoint remembers (``LoopState``).

Each option of ``python -m agents.train`` is a field of :class:`RunConfig` that carries
its default, its help text and its check, so a default exists once: the argparse parser
is built from the fields (:func:`build_parser`), and :func:`check_config` runs the
checks, whether a run comes from the command line or from Python.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from stable_baselines3 import PPO, SAC

from agents.hyperparams import Settings, settings_for
from feedback.cli import OneLineParser
from feedback.errors import FeedbackError, check_count
from feedback.queries import STRATEGIES
from feedback.store import check_annotator_name
from feedback.teachers import TEACHER_PRESETS, make_teacher
from rlhf_envs import ENV_IDS, NAMESPACE
from rlhf_envs.registration import env_name

ALGOS = {"ppo": PPO, "sac": SAC}
DEVICES = ("auto", "cpu", "cuda")
CPU_THREADS = 1  # torch's threads when training on the CPU, unless --threads says otherwise
STORE_TEACHER = "store"  # no new questions: fit on the feedback already in the store
HUMAN_TEACHER = "human"  # a person answers in the viewer (agents/teachers.py)
PEOPLE_TEACHER = "people"  # a team answers the run's queries in their own sessions

Check = Callable[[object], object]  # a value -> the value to use, or FeedbackError


def option(default: object = dataclasses.MISSING, help: str = "", *,
           default_factory: Callable[[], object] | None = None, flag: str | None = None,
           type: type | None = None, check: Check | None = None) -> object:
    """A :class:`RunConfig` field with its help text, command-line flag and check.

    :param default: the default (none: the flag is required)
    :param help: what the option means, for ``--help``
    :param default_factory: makes the default instead (e.g. from the environment)
    :param flag: the command-line flag (default: ``--`` and the name with dashes)
    :param type: what argparse converts the text to (default: the default's type)
    :param check: called with the value; returns the value to use or raises FeedbackError
    """
    metadata = {"help": help, "flag": flag, "type": type, "check": check}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def at_least(minimum: int, flag: str) -> Check:
    """A check that a whole number (or None: the table's default) is at least ``minimum``."""
    return lambda value: None if value is None else check_count(flag, value, minimum)


def one_of(choices: object, what: str) -> Check:
    """A check that a value is one of ``choices``."""
    def check(value: object) -> object:
        if value not in choices:
            raise FeedbackError(f"unknown {what} {value!r}; choose one of: "
                                f"{', '.join(map(str, choices))}")
        return value
    return check


def full_env_id(value: object) -> str:
    """The env id with its namespace (``Reacher-v0`` -> ``rlhf_envs/Reacher-v0``)."""
    return f"{NAMESPACE}/{env_name(str(value))}"


@dataclass
class RunConfig:
    """What ``python -m agents.train`` asks for; ``None`` takes the hyperparams table's."""

    env_id: str = option(help=f"env id, with or without '{NAMESPACE}/': {', '.join(ENV_IDS)}",
                         flag="--env", check=full_env_id)
    algo: str = option("ppo", f"agent: {' or '.join(ALGOS)}", check=one_of(ALGOS, "algo"))
    teacher: str = option(
        "oracle", "who answers comparisons: a synthetic teacher "
        f"({', '.join(TEACHER_PRESETS)}), '{HUMAN_TEACHER}' (you, in a window that opens at "
        f"each iteration), '{PEOPLE_TEACHER}' (a team answering the run's queries in "
        "their own sessions, python -m rlhf_envs.compare --store STORE --run-id ID; "
        f"training never waits for them), or '{STORE_TEACHER}' to use only feedback already "
        "in the store")
    store: str | None = option(
        None, "feedback store: a file, or a team's postgresql://... or service=NAME (default: "
        "feedback.db in --out); credentials only through libpq (~/.pgpass, PG* variables)")
    run_id: str | None = option(
        None, "the run's name among others in a shared --store: its queries carry it and "
        "its reward model fits on their answers only (default with --teacher people: the "
        "--out directory's name)")
    min_new_answers: int = option(
        0, "with --teacher people: at each iteration wait for this many new answers (at "
        "most --answer-timeout seconds); 0: never wait", check=at_least(0, "--min-new-answers"))
    answer_timeout: float = option(
        600.0, "with --teacher people: the longest wait for --min-new-answers, in seconds")
    annotator: str = option(help="your name with --teacher human, stored with each answer "
                                 "(default $USER)",
                            default_factory=lambda: os.environ.get("USER", "annotator"))
    labels: int = option(200, "total label budget", check=at_least(0, "--labels"))
    timesteps: int = option(
        49_152, "agent environment steps in all, trained exactly: for PPO a whole number of "
        "rollouts (n_steps x n_envs), at least one per iteration; the default is 24 rollouts "
        "of 2,048 steps, a whole number for every env's row of agents/hyperparams.py",
        check=at_least(1, "--timesteps"))
    seed: int = option(0, "seed of envs, agent, teacher", check=at_least(0, "--seed"))
    n_envs: int | None = option(None, "parallel envs (default: the env's row of "
                                      "agents/hyperparams.py)", type=int,
                                check=at_least(1, "--n-envs"))
    iterations: int | None = option(None, "reward-model refits over the run (default: the "
                                          "hyperparams table's, and more in a long run, "
                                          "so that refits are on average at most its "
                                          "max_steps_per_iteration apart)", type=int,
                                    check=at_least(1, "--iterations"))
    query_strategy: str = option("disagreement", f"how later pairs are chosen: "
                                                 f"{', '.join(STRATEGIES)}",
                                 check=one_of(STRATEGIES, "query strategy"))
    device: str = option("auto", f"where torch runs: {', '.join(DEVICES)}",
                         check=one_of(DEVICES, "device"))
    threads: int | None = option(
        None, "torch's CPU threads (default: 1 when training on the CPU, torch's own choice "
        "on a GPU); torch takes every core by default, and two runs side by side on 2 cores "
        "took 108 s with it against 15 s with one thread each; one run alone is as fast "
        "with one thread", type=int, check=at_least(1, "--threads"))
    out: Path = option(Path("runs/latest"), "run directory: metrics.json, report.md, "
                                            "policy.zip, feedback.db, ...", check=Path)
    true_reward: bool = option(False, "train the same agent on the hidden task reward "
                                      "(the baseline)")
    reward_term: str | None = option(
        None, "with --true-reward: train on this one named term of the task reward instead "
        "(e.g. SlateRec's clicks, the hand-written proxy a learned reward should beat); "
        "scores stay on the whole true reward")
    baseline: Path | None = option(None, "a --true-reward run directory; its return gives "
                                         "the normalised score", type=Path,
                                   check=lambda value: None if value is None else Path(value))
    resume: bool = option(False, "go on from the last checkpoint in --out (no label is asked "
                                 "twice)")
    progress: bool = option(True, "no progress bar", flag="--no-progress")


def _flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def build_parser() -> OneLineParser:
    """The ``python -m agents.train`` parser, made from :class:`RunConfig`'s fields."""
    parser = OneLineParser(
        prog="python -m agents.train",
        description="Train a Stable-Baselines3 agent on a reward model learned from segment "
                    "comparisons, and report how close it gets to the true-reward agent.")
    for f in dataclasses.fields(RunConfig):
        meta, flag = f.metadata, _flag(f)
        metavar = flag.removeprefix("--").upper().replace("-", "_")
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            parser.add_argument(flag, dest=f.name, required=True, metavar=metavar,
                                help=meta["help"])
        elif isinstance(f.default, bool):  # a switch: the flag flips the default
            action = "store_false" if f.default else "store_true"
            parser.add_argument(flag, dest=f.name, action=action, help=meta["help"])
        else:  # a value; a default made by a factory is described in the help text
            default = None if f.default is dataclasses.MISSING else f.default
            shown = "" if default is None else f" (default {default})"
            kind = meta["type"] or (str if default is None else type(default))
            parser.add_argument(flag, dest=f.name, default=argparse.SUPPRESS, type=kind,
                                metavar=metavar, help=meta["help"] + shown)
    return parser


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """A :class:`RunConfig` of parsed arguments (flags not given keep their defaults)."""
    return RunConfig(**vars(args))


def resolve_device(device: str, threads: int | None = None) -> str:
    """``auto`` -> ``cuda`` if torch sees one, else ``cpu``; ``cuda`` must exist.

    Also sets torch's CPU threads: ``threads``, or 1 for training on the CPU (runs side
    by side then do not fight over the cores).
    """
    if device == "cuda" and not torch.cuda.is_available():
        raise FeedbackError("--device cuda asked for, but torch sees no CUDA device here")
    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    if threads is not None or device == "cpu":
        torch.set_num_threads(threads or CPU_THREADS)
    return device


def check_config(config: RunConfig) -> Settings:
    """Check what a user asked for (one-line errors) and return the run's settings.

    Runs each field's check (``env_id`` gains its namespace), then the checks that
    involve several fields, then applies ``n_envs`` and ``iterations`` to the env's row
    of the hyper-parameter table (without ``iterations``, the row's refits for the run's
    steps: :meth:`~agents.hyperparams.LoopSettings.iterations_for`).
    """
    for f in dataclasses.fields(config):
        if f.metadata.get("check") is not None:
            setattr(config, f.name, f.metadata["check"](getattr(config, f.name)))
    learned = not config.true_reward
    if config.teacher == HUMAN_TEACHER:
        check_annotator_name(config.annotator)
    elif config.teacher == PEOPLE_TEACHER:
        if config.answer_timeout < 0:
            raise FeedbackError("--answer-timeout must be at least 0 seconds")
    elif config.teacher != STORE_TEACHER and learned:
        make_teacher(config.teacher)  # raises for unknown names
    if learned and config.teacher != STORE_TEACHER and config.labels == 0:
        raise FeedbackError("--labels 0 leaves nothing to learn a reward from "
                            "(give a budget, or train on --true-reward)")
    if config.reward_term is not None and not config.true_reward:
        raise FeedbackError("--reward-term trains on a term of the true reward: give "
                            "--true-reward too")
    if config.baseline is not None and not (Path(config.baseline) / "metrics.json").is_file():
        raise FeedbackError(f"--baseline {config.baseline}: no metrics.json there "
                            "(a finished --true-reward run)")
    settings = settings_for(env_name(config.env_id), config.algo)
    return settings.with_loop(n_envs=config.n_envs, iterations=config.iterations
                              or settings.loop.iterations_for(config.timesteps))


def shared_run_id(config: RunConfig) -> str | None:
    """The run's id in a store shared with others (--store, --teacher people), else None.

    A run's own feedback.db needs none (and older ones have none).
    """
    if config.run_id is not None or config.store is not None or config.teacher == PEOPLE_TEACHER:
        return config.run_id or Path(config.out).name
    return None


def steps_per_iteration(config: RunConfig, settings: Settings) -> list[int]:
    """How many agent steps each iteration trains: ``config.timesteps`` in all, exactly.

    The agent steps all ``n_envs`` envs at once, and PPO learns in whole rollouts of
    ``n_steps`` of those, so the total must be a whole number of such units (SAC: one
    step of every env; PPO: a rollout), at least one per iteration. They are shared out
    as evenly as possible, earlier iterations taking any one left over.
    """
    iterations, timesteps = settings.loop.iterations, config.timesteps
    n_envs = settings.loop.n_envs
    if config.algo == "ppo":
        unit = settings.agent["n_steps"] * n_envs
        what = f"PPO rollouts of {unit} steps (n_steps {settings.agent['n_steps']} x {n_envs} envs)"
    else:
        unit, what = n_envs, f"steps of all {n_envs} envs at once"
    least = iterations * unit
    if timesteps < least:
        raise FeedbackError(f"--timesteps {timesteps} is less than this run can train: at "
                            f"least {least}, one of its {what} for each of {iterations} "
                            "iterations (or give fewer --iterations)")
    if timesteps % unit:
        lower = timesteps - timesteps % unit
        raise FeedbackError(f"--timesteps {timesteps} is not a whole number of {what}: "
                            f"use {lower} or {lower + unit}")
    units, left_over = divmod(timesteps // unit, iterations)
    return [(units + (k < left_over)) * unit for k in range(iterations)]


@dataclass
class LoopState:
    """What a checkpoint remembers besides the agent and the reward model."""

    iteration: int = 0  # the next iteration to run
    history: list[dict] = field(default_factory=list)  # an IterationRecord per iteration
    alerts: list[str] = field(default_factory=list)
    buffer_ids: list[str] = field(default_factory=list)
    random_returns: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    # This process's CPU time (agents.loop.now); None once a checkpoint from before it
    # was recorded is resumed (its first part is unknown, so a sum would be too low).
    cpu_seconds: float | None = 0.0
    resumes: int = 0  # seeds segment ids apart from those of the runs before a kill
    reward_normalization: dict | None = None  # the running statistics, if normalised
