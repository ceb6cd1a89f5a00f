"""What a learned-reward agent does where episodes end on failure, and why.

For each finished training run directory (its ``policy.zip``'s twin in
``checkpoint/agent``, its ``reward_model/`` and ``feedback.db``), on evaluation episodes
of the true env:

- episode length, whether it ended by failure, true return, learned return;
- the learned reward per step, over the whole episode and over its last 10 steps;
- the share of steps the model rates below the state after the end (reward < 0 once a
  model is anchored; for an older, zero-mean model that is what the env pays after
  termination too): steps at which, by the learned reward, ending would be better;
- what the learned reward pays for a step alive beyond what the env pays, in the env's
  units (:func:`pay_for_living`): where the env pays for living (Hopper's and Walker2d's
  healthy reward of 1), a learned reward that pays less for it than for progress makes
  an agent that lunges forward and falls;
- from the store: how many candidate clips showed an episode's end.

With ``--random-clips ENV STEPS``, the random rollouts a run starts from instead: their
episodes' lengths, and how many of their clips show an episode's end: the clips that
were dropped before episode ends were padded (a clip never crossed an episode's end).

    python -m benchmarks.episode_ends RUN [RUN ...] [--episodes 10] [--out FILE]
    python -m benchmarks.episode_ends --random-clips Hopper-v0 17500

The BENCHMARKS.md section "Episodes that end" was made with it, on a run of the code
before episode ends were padded and one after (same env, seed and budget).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from safetensors.numpy import load

import rlhf_envs  # noqa: F401  (registers the ids)
from agents.monitoring import correlation
from benchmarks.common import RESULTS, machine
from feedback.files import write_json
from feedback.reward_model import RewardModel
from feedback.store import FeedbackStore
from rlhf_envs.sb3.checkpoint import load_policy

LAST_STEPS = 10  # the steps before an episode's end that are averaged


@dataclass
class Episode:
    """One played episode: its transitions, true rewards and whether it terminated."""

    obs: np.ndarray
    acts: np.ndarray
    next_obs: np.ndarray
    true_rewards: np.ndarray
    terminated: bool

    def learned_rewards(self, model: RewardModel) -> np.ndarray:
        """``model``'s reward of each step."""
        return model.predict(self.obs, self.acts, self.next_obs if model.use_next_obs else None)


def play(env: gym.Env, policy, seed: int) -> Episode:
    """One episode of ``policy`` (deterministic; None: random actions) from ``seed``."""
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    observations, actions, nexts, rewards, done = [], [], [], [], False
    while not done:
        action = (policy.predict(obs, deterministic=True)[0] if policy is not None
                  else env.action_space.sample())
        next_obs, _, terminated, truncated, info = env.step(action)
        observations.append(obs)
        actions.append(action)
        nexts.append(next_obs)
        rewards.append(info["true_reward"])
        obs, done = next_obs, terminated or truncated
    return Episode(np.array(observations), np.array(actions), np.array(nexts),
                   np.array(rewards), bool(terminated))


def pay_for_living(true_rewards: np.ndarray, learned_rewards: np.ndarray) -> dict:
    """The least-squares line ``learned = slope * true + intercept`` over an agent's steps,
    both rewards measured from the absorbing state (0 after an episode's end, in the env
    and in an anchored model).

    A learned reward that is the true one rescaled lies on a line through 0. Its
    intercept over its slope is what it pays for a step alive beyond the env, in the
    env's units: 0 if it values living as the env does; -1 on Hopper or Walker2d (healthy
    reward 1) if it pays nothing for living. ``r`` says how well a line describes it.
    All are None where either reward is constant (no line to read).
    """
    r = correlation(true_rewards, learned_rewards)
    if r is None:
        return dict.fromkeys(("slope", "intercept", "r", "extra_pay_for_living"))
    slope, intercept = np.polyfit(true_rewards, learned_rewards, 1)
    return {"slope": float(slope), "intercept": float(intercept), "r": r,
            "extra_pay_for_living": float(intercept / slope)}


def analyse_run(run: Path, episodes: int, seed: int = 30_000) -> dict:
    """The figures above for one run directory."""
    metrics_file = run / "metrics.json"
    env_id = json.loads(metrics_file.read_text())["env_id"]
    env = gym.make(env_id, warn_without_model=False)
    policy = load_policy(run / "checkpoint" / "agent", env)
    model = RewardModel.load(run / "reward_model", env_id=env_id)
    level = model.absorbing_reward() if model.anchored else 0.0
    rows, steps_below, true_steps, learned_steps = [], [], [], []
    for k in range(episodes):
        episode = play(env, policy, seed + k)
        learned = episode.learned_rewards(model)
        steps_below.append(learned < level)
        true_steps.append(episode.true_rewards)
        learned_steps.append(learned - level)
        rows.append({"length": len(learned), "terminated": episode.terminated,
                     "true_return": float(episode.true_rewards.sum()),
                     "learned_return": float(learned.sum()),
                     "true_reward_last_steps": float(episode.true_rewards[-LAST_STEPS:].mean()),
                     "learned_reward_mean": float(learned.mean()),
                     "learned_reward_last_steps": float(learned[-LAST_STEPS:].mean())})
    env.close()
    with FeedbackStore(run / "feedback.db") as store:
        labels = store.label_count()
    segments, ended = _segments_with_ends(run / "feedback.db")
    below = np.concatenate(steps_below)

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    return {"run": str(run), "env_id": env_id, "anchored": model.anchored,
            "labels": labels, "stored_segments": segments, "segments_showing_an_end": ended,
            "episodes": episodes, "length_mean": mean("length"),
            "terminated_share": mean("terminated"), "true_return_mean": mean("true_return"),
            "learned_return_mean": mean("learned_return"),
            "true_reward_mean": float(np.concatenate(true_steps).mean()),
            "true_reward_last_steps_mean": mean("true_reward_last_steps"),
            "learned_reward_mean": mean("learned_reward_mean"),
            "learned_reward_last_steps_mean": mean("learned_reward_last_steps"),
            "steps_worse_than_ending_share": float(below.mean()),
            "learned_against_true": pay_for_living(np.concatenate(true_steps),
                                                   np.concatenate(learned_steps)),
            "per_episode": rows}


def _segments_with_ends(path: Path) -> tuple[int, int]:
    """Segments in a run's store, and how many hold an episode's end (``end`` kept)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT arrays FROM segments").fetchall()
    return len(rows), sum("end" in load(bytes(r[0])) for r in rows)


def random_clips(env_name: str, steps: int, seed: int = 0) -> dict:
    """Episodes and clips of ``steps`` random steps of ``env_name``, as a run starts."""
    from agents.hyperparams import settings_for
    from rlhf_envs.labeling.rollouts import rollout_segments

    length = settings_for(env_name, "ppo").loop.segment_length
    env_id = f"rlhf_envs/{env_name}"
    clips = rollout_segments(env_id, steps, length, seed)
    ended = [c for c in clips if c.end is not None and c.end < length]
    episodes = len({c.episode for c in clips})
    return {"env_id": env_id, "random_steps": steps, "clip_steps": length,
            "clips": len(clips), "clips_showing_an_end": len(ended),
            "episodes_with_clips": episodes,
            "lived_steps_in_ended_clips_mean": float(np.mean([c.end for c in ended]))
            if ended else None}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*", type=Path, help="finished agents.train run directories")
    p.add_argument("--episodes", type=int, default=10, help="evaluation episodes per run")
    p.add_argument("--random-clips", nargs=2, metavar=("ENV", "STEPS"),
                   help="count the clips of random rollouts instead")
    p.add_argument("--out", type=Path, default=None,
                   help="default: benchmarks/results/episode_ends[_random_ENV].json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.random_clips:
        name, steps = args.random_clips[0], int(args.random_clips[1])
        found = random_clips(name, steps)
        write_json(args.out or RESULTS / f"episode_ends_random_{name}.json",
                   {**found, "machine": machine()}, indent=2)
        print(found)
        return found
    if not args.runs:
        p.error("give run directories, or --random-clips ENV STEPS")
    for run in args.runs:
        missing = [f for f in ("metrics.json", "checkpoint/agent", "reward_model", "feedback.db")
                   if not (run / f).exists()]
        if missing:
            p.error(f"{run} is not a finished learned-reward run directory: no "
                    + ", ".join(missing))
    args.out = args.out or RESULTS / "episode_ends.json"
    found = [analyse_run(run, args.episodes) for run in args.runs]
    write_json(args.out, {"runs": found, "machine": machine()}, indent=2)
    print("| run | anchored | clips showing an end | length | ended | true return | "
          "true reward/step (last 10 steps) | learned reward/step (last 10 steps) | "
          "steps worse than ending | learned pays for living beyond the env (r) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in found:
        fit = r["learned_against_true"]
        print(f"| {Path(r['run']).name} | {r['anchored']} | {r['segments_showing_an_end']} of "
              f"{r['stored_segments']} | {r['length_mean']:.0f} | {r['terminated_share']:.0%} | "
              f"{r['true_return_mean']:.0f} | {r['true_reward_mean']:+.2f} "
              f"({r['true_reward_last_steps_mean']:+.2f}) | {r['learned_reward_mean']:+.2f} "
              f"({r['learned_reward_last_steps_mean']:+.2f}) | "
              f"{r['steps_worse_than_ending_share']:.0%} | "
              + ("n/a |" if fit["r"] is None else
                 f"{fit['extra_pay_for_living']:+.2f} ({fit['r']:.2f}) |"))
    return {"runs": found}


if __name__ == "__main__":
    main()
