"""SlateRec, taken apart: what policies earn, how much of a clip is chance, what a reward
model must read to learn watch time.

1. Hand-made policies, 20 sessions each, total watch time and clicks: random; the
   simulator's quality-first (it reads the hidden quality: an upper reference);
   rating-first and rating + topic interest (what an agent can see); appeal-first
   (clickbait, what optimising clicks leads to).
2. Chance: of a 20-step clip's watch time under the random policy, the share of its
   variance that the slates shown do not explain (which item the user happens to pick).
   The expected watch time of a slate is computed from the user model's choice
   probabilities.
3. The reward model at 300 oracle labels on random clips, reading: the observation and
   action (as before), those and the whole next observation, and only the next
   observation's response block (``SlateRecEnv.reward_view``): held-out agreement and
   the correlation of learned and true watch time on clips of fresh sessions.

    python -m benchmarks.slate_rec           # writes benchmarks/results/slate_rec.json
    python -m benchmarks.slate_rec --quick   # fewer sessions, for CI
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import rlhf_envs  # noqa: F401  (registers the ids)
from benchmarks.common import RESULTS, machine
from feedback.files import write_json
from feedback.reward_model import RewardModel
from feedback.segments import cut_segments
from feedback.teachers import make_teacher

ENV_ID = "rlhf_envs/SlateRec-v0"
CLIP = 20  # the loop's SlateRec segment length (agents/hyperparams.py)


def heuristic(name: str, env: gym.Env, obs: np.ndarray) -> np.ndarray:
    """Scores of the candidates by one hand-made rule."""
    base = env.unwrapped
    t, c, d = base.T, base.C, base.doc_size
    docs = obs[t : t + c * d].reshape(c, d)
    interest = docs[:, :t] @ obs[:t]
    scores = {
        "random": lambda: env.action_space.sample(),
        "quality-first (hidden quality)": lambda: base.quality[base.candidates],
        "rating-first": lambda: docs[:, t + 1],
        "rating + interest": lambda: docs[:, t + 1] + 0.5 * interest,
        "appeal-first (clickbait)": lambda: docs[:, t],
    }[name]()
    return np.tanh(np.asarray(scores, np.float64)).astype(np.float32)


POLICIES = ("random", "quality-first (hidden quality)", "rating-first", "rating + interest",
            "appeal-first (clickbait)")


def expected_watch(env: gym.Env, scores: np.ndarray) -> float:
    """The user model's expected watch time of the slate these scores would show."""
    base = env.unwrapped
    slate = base.candidates[np.argsort(-scores, kind="stable")[: base.K]]
    weights = np.exp(base.interest_scale * base.interests[base.topic[slate]]
                     + base._appeal_logit[slate] + base._log_attention)
    p = weights / (weights.sum() + base.no_click_weight)
    if base.budget - base.browse_cost <= 0:
        return 0.0
    return float(p @ np.minimum(base.watch[slate], base.budget - base.browse_cost))


def sessions(policy: str, count: int, seed: int) -> dict:
    """Roll out ``count`` sessions; their totals, and the clips (with expectations)."""
    env = gym.make(ENV_ID, warn_without_model=False)
    env.action_space.seed(seed)
    watch, clicks, clips, expected = [], [], [], []
    for k in range(count):
        obs, _ = env.reset(seed=seed + k)
        observations, actions, rewards, expect, done = [obs], [], [], [], False
        while not done:
            action = heuristic(policy, env, obs)
            expect.append(expected_watch(env, action))
            obs, _, terminated, truncated, info = env.step(action)
            observations.append(obs)
            actions.append(action)
            rewards.append(info["true_reward"])
            clicks.append(info["reward_terms"]["clicks"])
            done = terminated or truncated
        watch.append(sum(rewards))
        cut = cut_segments(np.array(observations), np.array(actions), np.array(rewards),
                           length=CLIP, env_id=ENV_ID, episode=k)
        clips += cut
        expected += [sum(expect[s.start : s.start + CLIP]) for s in cut]
    per_session_clicks = float(np.sum(clicks) / count)
    return {"watch": watch, "clicks": per_session_clicks, "clips": clips,
            "expected": np.array(expected), "env": env}


def reward_model_inputs(train: list, fresh: list, env: gym.Env, labels: int, seed: int) -> dict:
    """Held-out agreement and fresh-clip correlation for each input the model may read."""
    rng = np.random.default_rng(seed)
    pairs = np.array([rng.choice(len(train), 2, replace=False) for _ in range(labels)])
    answers = make_teacher("oracle", seed=seed).answer_segments(
        [train[i] for i in pairs[:, 0]], [train[j] for j in pairs[:, 1]])
    true = np.array([s.true_return for s in fresh])
    views = {"observation and action (before)": None,
             "observation, action, next observation": {"obs": None, "acts": None,
                                                       "next_obs": None},
             "the response block of s' (reward_view)": env.unwrapped.reward_view}
    found = {}
    for name, view in views.items():
        model = RewardModel(env.observation_space, env.action_space, view=view, seed=seed)
        report = model.fit(train, pairs, answers, epochs=50)
        found[name] = {"heldout_agreement": report.heldout_agreement,
                       "fresh_correlation": float(np.corrcoef(model.segment_returns(fresh),
                                                              true)[0, 1])}
    return found


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer sessions (CI)")
    p.add_argument("--out", type=Path, default=RESULTS / "slate_rec.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    count = 4 if args.quick else 20
    policies = {}
    for name in POLICIES:
        done = sessions(name, count, seed=1_000)
        policies[name] = {"watch_mean": float(np.mean(done["watch"])),
                          "watch_sem": float(np.std(done["watch"]) / np.sqrt(count)),
                          "clicks_mean": done["clicks"]}
    random_train = sessions("random", 2 * count if args.quick else 50, seed=0)
    clips = random_train["clips"]
    realised = np.array([s.true_return for s in clips])
    chance = 1.0 - np.var(random_train["expected"]) / np.var(realised)
    fresh = sessions("random", count, seed=5_000)["clips"]
    inputs = reward_model_inputs(clips, fresh, random_train["env"],
                                 100 if args.quick else 300, seed=0)
    result = {"sessions_per_policy": count, "policies": policies,
              "clip_steps": CLIP, "clips": len(clips),
              "clip_watch_chance_share": float(chance),
              "reward_model_inputs": inputs, "machine": machine()}
    write_json(args.out, result, indent=2)
    print("| policy | watch time (min) | clicks |\n|---|---|---|")
    for name, row in policies.items():
        print(f"| {name} | {row['watch_mean']:.1f} ± {row['watch_sem']:.1f} | "
              f"{row['clicks_mean']:.1f} |")
    print(f"\nchance share of a {CLIP}-step clip's watch-time variance: {chance:.2f}\n")
    print("| reward model reads | held-out agreement | fresh-clip correlation |\n|---|---|---|")
    for name, row in inputs.items():
        print(f"| {name} | {row['heldout_agreement']:.2f} | {row['fresh_correlation']:.2f} |")
    return result


if __name__ == "__main__":
    main()
