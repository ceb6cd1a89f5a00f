"""Default hyper-parameters: one table, per env and algorithm (as rl-zoo3 keeps them).

``loop`` settings belong to the RLHF loop (how many iterations, segment length, ...);
``ppo`` and ``sac`` are passed to Stable-Baselines3 as they are. An env's row overrides
the defaults key by key; CLI flags override both (``--n-envs``, ``--iterations``).
An env's segment length is its row of :data:`rlhf_envs.registration.ENVS` (the labeling
app reads it there too).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rlhf_envs.registration import segment_length

DEFAULTS: dict[str, dict] = {
    "loop": {
        "n_envs": 4,
        "iterations": 8,           # refits of the reward model over the run
        "first_label_share": 0.25,  # of the label budget asked before the agent trains
        "buffer_capacity": 2_000,  # segments kept as query candidates
        "fit_epochs": 50,
        "eval_episodes": 5,
        "normalize_reward": {"ppo": True, "sac": False},  # SAC's buffer is relabelled raw
    },
    "ppo": {
        "n_steps": 512, "batch_size": 64, "n_epochs": 10, "learning_rate": 3e-4,
        "gamma": 0.99, "gae_lambda": 0.95, "clip_range": 0.2, "ent_coef": 0.0,
    },
    "sac": {
        "learning_rate": 3e-4, "buffer_size": 300_000, "learning_starts": 1_000,
        "batch_size": 256, "tau": 0.005, "gamma": 0.99, "train_freq": 1, "gradient_steps": 1,
    },
}

PER_ENV: dict[str, dict[str, dict]] = {
    "Reacher-v0": {
        "loop": {"n_envs": 8, "eval_episodes": 50},
        "ppo": {"n_steps": 256, "batch_size": 256, "gamma": 0.9, "n_epochs": 20},
        "sac": {"learning_starts": 500},
    },
    "HalfCheetah-v0": {"ppo": {"n_steps": 512, "batch_size": 64}},
    "Highway-v0": {
        # 20 evaluation episodes: a crash rate from 5 moves in steps of 20 points.
        "loop": {"n_envs": 2, "iterations": 4, "eval_episodes": 20},
        # gamma 0.95, not highway-env's 0.8: an episode is 30 steps and a crash ends it,
        # and at 0.8 even the true reward's discounted return barely tells a policy that
        # survives from one that crashes (3.60 against 3.28, random 3.46), so a learned
        # reward's small error flips it; at 0.95 they are 11.2 against 6.2, and the
        # learned reward agrees (62 against 42). See BENCHMARKS.md "Highway".
        "ppo": {"n_steps": 128, "batch_size": 64, "gamma": 0.95},
    },
    # gamma 0.99: a session's watch time hangs on its budget many steps later (chosen on
    # seed 100 at 100k steps, 20 sessions: 272 minutes against 262 with 0.95).
    "SlateRec-v0": {"ppo": {"gamma": 0.99}},
}


@dataclass(frozen=True)
class LoopSettings:
    """The RLHF loop's settings of one env and algorithm (see ``DEFAULTS["loop"]``)."""

    n_envs: int
    iterations: int
    segment_length: int
    first_label_share: float
    buffer_capacity: int
    fit_epochs: int
    eval_episodes: int
    normalize_reward: bool


@dataclass(frozen=True)
class Settings:
    """What one run uses: the loop's settings and the agent's SB3 keyword arguments."""

    loop: LoopSettings
    agent: dict

    @property
    def gamma(self) -> float:
        """The agent's discount (the reward normalisation uses it too)."""
        return self.agent["gamma"]

    def with_loop(self, **changes: object) -> Settings:
        """These settings with some loop settings changed (``None`` values ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, loop=dataclasses.replace(self.loop, **changes))


def settings_for(env_name: str, algo: str) -> Settings:
    """The settings of an env name (without namespace) and algorithm (``ppo``, ``sac``)."""
    row = PER_ENV.get(env_name, {})
    loop = {**DEFAULTS["loop"], "segment_length": segment_length(env_name),
            **row.get("loop", {})}
    if isinstance(loop["normalize_reward"], dict):
        loop["normalize_reward"] = loop["normalize_reward"][algo]
    return Settings(LoopSettings(**loop), {**DEFAULTS[algo], **row.get(algo, {})})
