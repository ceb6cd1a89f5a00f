"""Which policy the agent's discount prefers, by the true reward and by a learned one.

PPO maximises the discounted return; the benchmarks score the undiscounted one. Where a
failure ends the episode early, a short horizon can leave a policy that survives barely
better, by the discounted true return, than one that fails, and a learned reward's
small error then flips the order. For each given policy (finished ``agents.train`` run
directories, plus random actions), on the same evaluation episodes, this prints the mean
discounted return from the start under the true reward and under the learned reward of
``--model-run``, at each ``--gammas`` value.

    python -m benchmarks.discounting --model-run RUN --policy NAME=RUN [NAME=RUN ...] \\
        [--gammas 0.8 0.9 0.95 0.99] [--episodes 12] [--out FILE]

BENCHMARKS.md's "Highway: the discount" was made with it, on the Highway-v0 skip-200
and true-reward runs of seed 0 at gamma 0.8.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import rlhf_envs  # noqa: F401  (registers the ids)
from benchmarks.common import RESULTS, machine
from benchmarks.episode_ends import Episode, play
from feedback.files import write_json
from feedback.reward_model import RewardModel
from rlhf_envs.sb3.checkpoint import load_policy

RANDOM = "random"


def discounted(rewards: np.ndarray, gamma: float) -> float:
    """The return from an episode's start with discount ``gamma``."""
    return float((gamma ** np.arange(len(rewards)) * rewards).sum())


def compare(episodes: dict[str, list[Episode]], model: RewardModel,
            gammas: list[float]) -> list[dict]:
    """One row per policy and gamma: mean discounted true and learned returns."""
    rows = []
    for name, played in episodes.items():
        learned = [e.learned_rewards(model) for e in played]
        for gamma in gammas:
            rows.append({
                "policy": name, "gamma": gamma,
                "true": float(np.mean([discounted(e.true_rewards, gamma) for e in played])),
                "learned": float(np.mean([discounted(r, gamma) for r in learned])),
                "length_mean": float(np.mean([len(r) for r in learned])),
                "terminated_share": float(np.mean([e.terminated for e in played])),
            })
    return rows


def named_run(text: str) -> tuple[str, Path]:
    """``NAME=RUN`` -> (NAME, RUN)."""
    name, sep, run = text.partition("=")
    if not sep or not name or not run:
        raise argparse.ArgumentTypeError(f"expected NAME=RUN, got {text!r}")
    return name, Path(run)


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-run", type=Path, required=True,
                   help="the run directory whose reward_model/ scores the episodes")
    p.add_argument("--policy", type=named_run, nargs="+", required=True, metavar="NAME=RUN",
                   help="policies to play, by run directory (random actions are added)")
    p.add_argument("--gammas", type=float, nargs="+", default=[0.8, 0.9, 0.95, 0.99])
    p.add_argument("--episodes", type=int, default=12)
    p.add_argument("--out", type=Path, default=RESULTS / "discounting.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    env_id = json.loads((args.model_run / "metrics.json").read_text())["env_id"]
    env = gym.make(env_id, warn_without_model=False)
    model = RewardModel.load(args.model_run / "reward_model", env_id=env_id)
    policies = {name: load_policy(run / "checkpoint" / "agent", env) for name, run in args.policy}
    policies[RANDOM] = None
    seeds = range(40_000, 40_000 + args.episodes)
    episodes = {name: [play(env, policy, s) for s in seeds] for name, policy in policies.items()}
    env.close()
    rows = compare(episodes, model, args.gammas)
    write_json(args.out, {"env_id": env_id, "model_run": str(args.model_run),
                          "policies": {n: str(r) for n, r in args.policy},
                          "episodes": args.episodes, "rows": rows, "machine": machine()},
               indent=2)
    print("| gamma | policy | episode length | ended | discounted true return | "
          "discounted learned return |")
    print("|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["gamma"], r["policy"])):
        print(f"| {r['gamma']} | {r['policy']} | {r['length_mean']:.0f} | "
              f"{r['terminated_share']:.0%} | {r['true']:.2f} | {r['learned']:.1f} |")
    return rows


if __name__ == "__main__":
    main()
