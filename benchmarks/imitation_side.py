"""Side by side with imitation 1.0.1: reward-model fit, reward-wrapper overhead, learning.

    python -m benchmarks.imitation_side [--quick] [--parts fit wrapper learning]

imitation pins gymnasium 0.29 and Stable-Baselines3 2.2.1, so it lives in its own venv
(``--venv``, default ``.venv-imitation`` at the repository root): made on first use with
``pip install torch==2.13.0`` (first, so that pip takes the machine's CPU wheel instead
of a CUDA build) and then ``imitation==1.0.1 "gymnasium[mujoco]~=0.29"``, and reused
after. Where it cannot be made (no network, pip fails) the script says why in one line,
writes the reason to the result file and exits 0. The side runs
``benchmarks/imitation_side_child.py``, which answers JSON requests one line at a time,
so both sides are measured in one invocation, their timing rounds alternating.

a. ``fit``: a reward model fitted on the same 1,000 oracle-labelled pairs of 50-step
   HalfCheetah-shaped segments (``benchmarks.reward_model``'s), one epoch, batch 64:
   our ``RewardModel.fit`` (one member, and our default ensemble of 3) against
   imitation's ``BasicRewardTrainer`` on a ``BasicRewardNet`` of the same hidden sizes.
   Median of ``--repeats`` after a warm-up.
b. ``wrapper``: steps/s of 8 HalfCheetah envs in a ``DummyVecEnv`` with a learned reward
   swapped in, over the same bare VecEnv with its own reward: our
   ``LearnedRewardVecEnv`` alone and the stack our loop trains in
   (``agents.envs.make_reward_env`` and the ``SegmentRecorder`` on top) against
   imitation's ``RewardVecEnvWrapper`` alone and the stack its ``AgentTrainer`` trains in
   (``BufferingWrapper`` under ``RewardVecEnvWrapper``). An unfitted model of the learning
   part's shape on each side (fitting does not change the cost). Ratios, median of
   ``--rounds`` alternating rounds.
c. ``learning``: PPO with our HalfCheetah-v0 settings (``agents.hyperparams``, read at
   run time and passed to both sides), the same steps, seeds and label budgets: our
   loop with the oracle teacher, as ``benchmarks.label_efficiency``'s own grid cells
   (run where missing, reused where done), against imitation's
   ``PreferenceComparisons`` (``RandomFragmenter``, ``SyntheticGatherer`` at temperature
   0, i.e. an oracle, ``PreferenceModel``, ``BasicRewardTrainer``), each of its runs kept
   as it finishes (``benchmarks.imitation_learning``). Normalised score against our
   true-reward cell of the same seed (the one baseline for both sides), true return, CPU
   time.

Ours runs ``rlhf_envs/HalfCheetah-v0`` (gymnasium 1.x's HalfCheetah-v5); imitation's side
runs gymnasium 0.29's HalfCheetah-v4 (0.29 has no v5). The two share the reward (forward
velocity minus 0.1 times the squared action) and the 1,000-step episodes.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import stable_baselines3 as sb3  # noqa: E402
import torch  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402

from agents.envs import make_reward_env  # noqa: E402
from agents.hyperparams import settings_for  # noqa: E402
from benchmarks.common import RESULTS, machine  # noqa: E402
from benchmarks.grid import ROOT as PROJECT  # noqa: E402
from benchmarks.imitation_learning import (  # noqa: E402
    ENV,
    THEIR_ENV,
    GridError,
    learning_side_by_side,
    ppo_settings,
)
from benchmarks.imitation_table import markdown_table  # noqa: E402
from benchmarks.imitation_venv import SetupError, Side, SideError, side_python  # noqa: E402
from benchmarks.label_efficiency import MUJOCO_STEPS  # noqa: E402
from benchmarks.reward_model import LENGTH, make_data  # noqa: E402
from feedback.answers import EQUAL, LEFT, RIGHT  # noqa: E402
from feedback.cli import OneLineParser  # noqa: E402
from feedback.files import write_json  # noqa: E402
from feedback.reward_model import RewardModel  # noqa: E402
from feedback.segments import Segment  # noqa: E402
from rlhf_envs import LearnedRewardVecEnv  # noqa: E402
from rlhf_envs.robotics import ROBOTICS_ENVS  # noqa: E402
from rlhf_envs.sb3.segment_recorder import SegmentRecorder  # noqa: E402

OUR_GYM_ENV = ROBOTICS_ENVS[ENV]  # the gymnasium env under it (HalfCheetah-v5)
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = ROOT / ".venv-imitation"
DEFAULT_OUT = RESULTS / "imitation_side.json"
# Torch first: pinned, it comes from the machine's CPU wheel (a bare torch pulls CUDA's).
FIT_SEGMENTS = 400  # segments the fit's pairs are drawn from (as benchmarks.reward_model)
WRAPPER_ENVS = 8
QUICK = {"steps": 8_192, "labels": [50], "seeds": 1}
# label_efficiency's steps and oracle budgets, so that our side is its cells
FULL = {"steps": MUJOCO_STEPS, "labels": [700, 350], "seeds": 5}  # 700 runs first
PARTS = ("fit", "wrapper", "learning")
PREFERENCES = {LEFT: 1.0, RIGHT: 0.0, EQUAL: 0.5}  # imitation's P(first fragment preferred)
# Our defaults that imitation's side is given too, read where they are defined.
HIDDEN_SIZES = list(inspect.signature(RewardModel).parameters["hidden_sizes"].default)
ENSEMBLE_SIZE = inspect.signature(RewardModel).parameters["ensemble_size"].default
FIT_BATCH = inspect.signature(RewardModel.fit).parameters["batch_size"].default


# ---------------------------------------------------------------- a. reward-model fit
def write_fit_data(path: Path, segments: Sequence[Segment], pairs: np.ndarray,
                   answers: Sequence[str]) -> None:
    """The segments and answers as imitation's fragments need them, in one ``.npz``."""
    np.savez(path,
             obs=np.stack([np.concatenate([s.obs, s.next_obs[-1:]]) for s in segments]),
             acts=np.stack([s.acts for s in segments]),
             rews=np.stack([s.true_rewards for s in segments]),
             pairs=pairs, preferences=np.array([PREFERENCES[a] for a in answers], np.float32))


def fit_side_by_side(side: Side, pairs: int, epochs: int, repeats: int, work: Path) -> dict:
    """Fit seconds, ours (one member and the default ensemble) and imitation's, alternating."""
    segments, pair_index, answers = make_data(FIT_SEGMENTS, pairs)
    data = work / "fit.npz"
    write_fit_data(data, segments, pair_index, answers)
    side.ask("fit_setup", data=str(data), hidden_sizes=HIDDEN_SIZES, batch_size=FIT_BATCH,
             epochs=epochs)
    obs_dim, act_dim = segments[0].obs.shape[1], segments[0].acts.shape[1]
    obs_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float64)
    act_space = gym.spaces.Box(-1, 1, (act_dim,), np.float32)

    def ours(members: int) -> float:
        started = time.perf_counter()
        model = RewardModel(obs_space, act_space, ensemble_size=members)
        model.fit(segments, pair_index, answers, epochs=epochs, batch_size=FIT_BATCH,
                  heldout_fraction=0.0)
        return time.perf_counter() - started

    times: dict[str, list[float]] = {"ours_one": [], "ours_ensemble": [], "imitation": []}
    for repeat in range(repeats + 1):  # the first round warms both sides up
        round_times = {"ours_one": ours(1), "ours_ensemble": ours(ENSEMBLE_SIZE),
                       "imitation": side.ask("fit_once")["seconds"]}
        if repeat:
            for key, seconds in round_times.items():
                times[key].append(seconds)
    medians = {key: statistics.median(values) for key, values in times.items()}
    return {
        "pairs": pairs, "segment_length": LENGTH, "epochs": epochs, "batch_size": FIT_BATCH,
        "hidden_sizes": HIDDEN_SIZES, "ensemble_size": ENSEMBLE_SIZE, "repeats": repeats,
        "ours_one_member_seconds": round(medians["ours_one"], 4),
        "ours_ensemble_seconds": round(medians["ours_ensemble"], 4),
        "imitation_seconds": round(medians["imitation"], 4),
        "rounds": {key: [round(t, 4) for t in values] for key, values in times.items()},
    }


# ---------------------------------------------------------------- b. reward wrapper
def vec_steps_per_second(venv, actions: np.ndarray, steps: int) -> float:
    """VecEnv steps (of all envs at once) per second."""
    start = time.perf_counter()
    for k in range(steps):
        venv.step(actions[k % len(actions)])
    return steps / (time.perf_counter() - start)


def wrapper_side_by_side(side: Side, rounds: int, steps: int) -> dict:
    """Steps/s with a learned reward over the bare VecEnv, both sides, alternating rounds."""
    settings = settings_for(ENV, "ppo")
    side.ask("wrapper_setup", env_id=THEIR_ENV, n_envs=WRAPPER_ENVS, hidden_sizes=HIDDEN_SIZES,
             normalize_reward=settings.loop.normalize_reward, seed=0)
    bare = make_vec_env(OUR_GYM_ENV, n_envs=WRAPPER_ENVS, seed=0)
    inner = make_vec_env(OUR_GYM_ENV, n_envs=WRAPPER_ENVS, seed=0)
    model = RewardModel(bare.observation_space, bare.action_space)
    venvs = {
        "bare": bare,
        "wrapped": LearnedRewardVecEnv(inner, model, env_id=OUR_GYM_ENV),
        "stack": make_reward_env(f"rlhf_envs/{ENV}", WRAPPER_ENVS, 0, true_reward=False,
                                 normalize_reward=settings.loop.normalize_reward,
                                 gamma=settings.gamma),
    }
    venvs["stack"].set_reward_model(model)  # then the loop's recorder on top, as it trains
    venvs["stack"] = SegmentRecorder(venvs["stack"], f"rlhf_envs/{ENV}",
                                     settings.loop.segment_length)
    act_dim = bare.action_space.shape[0]
    actions = np.random.default_rng(0).uniform(-1, 1, (256, WRAPPER_ENVS, act_dim))
    actions = actions.astype(np.float32)
    for venv in venvs.values():
        venv.reset()
        vec_steps_per_second(venv, actions, steps // 4)  # warm-up
    side.ask("wrapper_round", steps=steps // 4)
    rates: dict[str, dict[str, list[float]]] = {"ours": {}, "imitation": {}}
    for _ in range(rounds):
        for name, venv in venvs.items():
            rates["ours"].setdefault(name, []).append(vec_steps_per_second(venv, actions, steps))
        for name, rate in side.ask("wrapper_round", steps=steps).items():
            rates["imitation"].setdefault(name, []).append(rate)
    result: dict = {"n_envs": WRAPPER_ENVS, "steps_per_round": steps, "rounds": rounds}
    for who, by_name in rates.items():
        side_result = {f"{name}_steps_per_s": round(statistics.median(r) * WRAPPER_ENVS)
                       for name, r in by_name.items()}
        for name in ("wrapped", "stack"):
            ratios = [w / b for w, b in zip(by_name[name], by_name["bare"])]
            side_result[f"{name}_ratio"] = round(statistics.median(ratios), 4)
            side_result[f"{name}_ratio_rounds"] = [round(r, 4) for r in ratios]
        result[who] = side_result
    for venv in venvs.values():
        venv.close()
    return result


# ---------------------------------------------------------------- main
def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m benchmarks.imitation_side",
                           description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="what to measure (default all: fit wrapper learning)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a learning run of minutes: --steps {QUICK['steps']} --labels "
                             f"{QUICK['labels'][0]} --seeds {QUICK['seeds']} unless given")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"agent steps per learning run (default {FULL['steps']}; a whole "
                             "number of PPO rollouts)")
    parser.add_argument("--labels", type=int, nargs="+", default=None,
                        help=f"label budgets (default {' '.join(map(str, FULL['labels']))})")
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"seeds 0..N-1 (default {FULL['seeds']})")
    parser.add_argument("--pairs", type=int, default=1_000,
                        help="fit: labelled pairs (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=1, help="fit: epochs (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="fit: timed repeats, median (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=7,
                        help="wrapper: alternating rounds (default %(default)s)")
    parser.add_argument("--round-steps", type=int, default=1_000,
                        help="wrapper: VecEnv steps per round (default %(default)s)")
    parser.add_argument("--threads", type=int, default=1,
                        help="fit and wrapper: torch's CPU threads, each side (default "
                             "%(default)s; the learning part's runs take one, as the grid's)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="learning: our grid cells run this many at once")
    parser.add_argument("--runs", type=Path, default=None,
                        help="learning: our cells' run directories (default runs/grid, as "
                             "benchmarks.grid; with --quick, a temporary folder)")
    parser.add_argument("--results", type=Path, default=None,
                        help="learning: the grids' results, both sides (default "
                             "benchmarks/results/grid; with --quick, a temporary folder)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help="imitation's venv: reused if it imports imitation, else made "
                             f"there (default {DEFAULT_VENV.name} at the repository root)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="result file (default benchmarks/results/imitation_side.json)")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parsed flags, ``--quick`` or the full sizes filling what was not given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for flag in ("steps", "seeds", "pairs", "epochs", "repeats", "rounds", "round_steps",
                 "threads", "workers"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1")
    if min(args.labels) < 1:
        parser.error("--labels must be at least 1")
    if "learning" in args.parts:
        if args.threads != 1:
            parser.error("--threads: the learning part runs one thread a side, as the grid's "
                         "cells do; give --parts fit wrapper for more")
        try:
            ppo_settings(args.steps)
        except ValueError as err:
            parser.error(str(err))
    return args


def command_line(argv: Sequence[str] | None) -> str:
    """How this run was asked for, for the result file."""
    return " ".join(["python -m benchmarks.imitation_side",
                     *(sys.argv[1:] if argv is None else argv)])


def load_average() -> list[float]:
    """The machine's 1-, 5- and 15-minute load averages (these machines are shared)."""
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the asked parts side by side; write ``--out`` and print the table.

    Returns 0, also when the side venv cannot be made (the result file says why), and 1
    when the imitation side fails at a request.
    """
    args = parse_args(argv)
    command = command_line(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        python = side_python(args.venv)
    except SetupError as err:
        write_json(args.out, {"skipped": str(err), "venv": str(args.venv),
                              "command": command}, indent=2)
        print(f"imitation_side: skipped: {err}")
        return 0
    torch.set_num_threads(args.threads)
    result: dict = {"command": command, "load_average": {"start": load_average()}}
    side = Side(python, args.threads, args.out.with_suffix(".log"))
    try:
        versions = side.ask("versions")
        result["envs"] = {
            "ours": f"rlhf_envs/{ENV} = {OUR_GYM_ENV} (gymnasium {gym.__version__}, "
                    f"mujoco {mujoco.__version__}, stable-baselines3 {sb3.__version__})",
            "imitation": f"{THEIR_ENV} (gymnasium {versions['gymnasium']}, mujoco "
                         f"{versions['mujoco']}, stable-baselines3 "
                         f"{versions['stable_baselines3']})"}
        result["imitation_side"] = {**versions, "venv": str(args.venv)}
        parts = {
            "fit": lambda work: fit_side_by_side(side, args.pairs, args.epochs, args.repeats,
                                                 work),
            "wrapper": lambda work: wrapper_side_by_side(side, args.rounds, args.round_steps),
            "learning": lambda work: learning_side_by_side(
                side, args.steps, args.labels, args.seeds,
                args.runs or (work / "runs" if args.quick else PROJECT / "runs" / "grid"),
                args.results or (work / "results" if args.quick else RESULTS / "grid"),
                args.workers, FIT_BATCH, HIDDEN_SIZES),
        }
        result["part_seconds"] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, measure in parts.items():
                if name in args.parts:
                    started = time.perf_counter()
                    result[name] = measure(Path(tmp))
                    result["part_seconds"][name] = round(time.perf_counter() - started, 1)
    except (SideError, GridError) as err:  # what was measured is kept, with why not more
        result["error"] = str(err)
    finally:
        side.close()
    result["load_average"]["end"] = load_average()
    result["machine_cpus"] = os.cpu_count()
    write_json(args.out, {**result, "machine": machine()}, indent=2)
    if "error" in result:
        print(f"imitation_side: {result['error']} (what was measured is in {args.out})",
              file=sys.stderr)
        return 1
    print(markdown_table(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
