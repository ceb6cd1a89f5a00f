"""Default hyper-parameters: one table, per env and algorithm (as rl-zoo3 keeps them).

``loop`` settings belong to the RLHF loop (how many iterations, segment length, ...);
``ppo`` and ``sac`` are passed to Stable-Baselines3 as they are, but for
``policy_kwargs``, which are data (activations by name) that
:func:`rlhf_envs.policies.agent_policy` turns into SB3's. An env's row overrides the
defaults key by key; CLI flags override both (``--n-envs``; ``--iterations``, exactly so
many). A loop setting given as ``{"ppo": ..., "sac": ...}`` differs by algorithm. An
env's segment length is its row of :data:`rlhf_envs.registration.ENVS` (the labeling app
reads it there too).

The MuJoCo rows but Reacher's are rl-zoo3's rows for the ``-v3`` envs our ids wrap
(``hyperparams/ppo.yml`` and ``sac.yml`` of DLR-RM/rl-baselines3-zoo): its tuned rows, or
its ``&mujoco-defaults`` where it has none or, for Hopper's PPO, where the tuned row
stands still; the same for the true-reward and the learned-reward agent: a weak baseline
flatters a learned reward. The zoo's ``normalize: true`` is SB3's ``VecNormalize`` of
observations and rewards: here ``normalize_obs`` (the agent's observations only;
segments, reward model and teachers keep raw ones) and ``normalize_reward`` (our
:class:`~rlhf_envs.wrappers.ReturnNormalizer`, which, unlike VecNormalize, does not clip
the scaled reward at 10). The zoo trains 1e6 steps; ``--timesteps`` is the loop's own.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field

from rlhf_envs.registration import segment_length

DEFAULTS: dict[str, dict] = {
    "loop": {
        "n_envs": 4,
        "iterations": 8,           # refits of the reward model over the run, at least ...
        # ... and more in a long run, so that a reward model is trained on for this many
        # agent steps or fewer on average (None: always ``iterations``). 37,632 is 8
        # refits of the MuJoCo grids' 301,056 steps. Chosen on Hopper at 1M steps and 700
        # labels (seeds 100-102, BENCHMARKS.md "Hopper"): 27 refits made 2,131, 2,988 and
        # 3,460; 8 refits, 125k steps apart, the first model fitted to random clips
        # alone, 1,266, 2,904 and 3,750. Its feedback steps cost 2-3 minutes of CPU more.
        "max_steps_per_iteration": 37_632,
        "first_label_share": 0.25,  # of the label budget asked before the agent trains
        "buffer_capacity": 2_000,  # segments kept as query candidates
        "fit_epochs": 50,
        "eval_episodes": 5,
        "eval_deterministic": True,  # evaluate the policy's most likely action (SB3's way)
        "normalize_reward": {"ppo": True, "sac": False},  # SAC's buffer is relabelled raw
        "normalize_obs": False,  # SB3's VecNormalize of what the agent sees (clip 10)
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
PER_ALGO_LOOP = ("normalize_reward", "normalize_obs")  # loop settings that may differ so

# The loop of a zoo row: n_envs 1 (the zoo's, PPO and SAC), its PPO rows' `normalize:
# true` (its SAC rows have none), and 10 evaluation episodes (issue 11 asks at least 10).
ZOO_LOOP = {"n_envs": 1, "eval_episodes": 10, "normalize_obs": {"ppo": True, "sac": False}}
# ppo.yml's tuned rows' policy_kwargs: "dict(log_std_init=-2, ortho_init=False,
# activation_fn=nn.ReLU, net_arch=[dict(pi=[256, 256], vf=[256, 256])])" (SB3 2.x takes
# the dict itself as net_arch).
ZOO_PPO_POLICY = {"log_std_init": -2, "ortho_init": False, "activation_fn": "relu",
                  "net_arch": {"pi": [256, 256], "vf": [256, 256]}}
# ppo.yml's &mujoco-defaults (Ant-v3, Swimmer-v3): normalize and SB3's PPO defaults,
# spelt out since this table's own defaults differ.
SB3_PPO = {"n_steps": 2048, "batch_size": 64, "n_epochs": 10, "learning_rate": 3e-4,
           "gamma": 0.99, "gae_lambda": 0.95, "clip_range": 0.2, "ent_coef": 0.0,
           "vf_coef": 0.5, "max_grad_norm": 0.5}
# sac.yml's &mujoco-defaults (HalfCheetah-v3, Ant-v3, Hopper-v3, Walker2d-v3): SB3's SAC
# (buffer 1e6, ent_coef auto) with learning_starts 10000.
ZOO_SAC = {"learning_rate": 3e-4, "buffer_size": 1_000_000, "learning_starts": 10_000,
           "batch_size": 256, "tau": 0.005, "gamma": 0.99, "train_freq": 1,
           "gradient_steps": 1}

PER_ENV: dict[str, dict[str, dict]] = {
    # Not the zoo's Reacher-v2 row (normalize, n_envs 1, n_steps 512, batch 32, gamma
    # 0.9, lr 1.04019e-4, ent_coef 7.52585e-08, clip 0.3, n_epochs 5, gae_lambda 1.0,
    # max_grad_norm 0.9, vf_coef 0.950368; tuned for 1e6 steps): this hand-tuned row is
    # what BENCHMARKS.md's "Learning" table (mean normalised score 0.84 at 200 labels,
    # 98,304 steps), `make demo` and the slow tests/test_learning.py measure; changing
    # it would make those figures stale.
    "Reacher-v0": {
        "loop": {"n_envs": 8, "eval_episodes": 50},
        "ppo": {"n_steps": 256, "batch_size": 256, "gamma": 0.9, "n_epochs": 20},
        "sac": {"learning_starts": 500},
    },
    # ppo.yml HalfCheetah-v3 (tuned); sac.yml HalfCheetah-v3.
    "HalfCheetah-v0": {
        "loop": ZOO_LOOP,
        "ppo": {"n_steps": 512, "batch_size": 64, "gamma": 0.98, "learning_rate": 2.0633e-05,
                "ent_coef": 0.000401762, "clip_range": 0.1, "n_epochs": 20,
                "gae_lambda": 0.92, "max_grad_norm": 0.8, "vf_coef": 0.58096,
                "policy_kwargs": ZOO_PPO_POLICY},
        "sac": ZOO_SAC,
    },
    # ppo.yml's &mujoco-defaults, not its tuned Hopper-v3 row (n_steps 512, batch 32,
    # gamma 0.999, learning rate 9.8e-5, 256x256 ReLU): that row stands still, true return
    # about 1,000 in 1,000 steps with no forward reward, at 301,056 steps (seeds 1, 3, 4;
    # seed 0 fell to 110) and at 1M (seeds 0 and 1), so it flatters any learned reward.
    # Chosen on seeds 100-102 at 301,056 steps (BENCHMARKS.md "Hopper"): these defaults
    # made 1,215, 3,569 and 3,331 (two hop all 1,000 steps), this table's own defaults
    # 2,144, 1,168 and 1,538, and those with observation normalisation 2,750, 943, 967.
    # At rl-zoo3's 1M steps (label_efficiency's Hopper grid): 3,312, 2,385 and 2,724.
    # sac.yml Hopper-v3.
    "Hopper-v0": {"loop": ZOO_LOOP, "ppo": SB3_PPO, "sac": ZOO_SAC},
    # ppo.yml Walker2d-v3 (tuned; SB3's default MlpPolicy); sac.yml Walker2d-v3.
    "Walker2d-v0": {
        "loop": ZOO_LOOP,
        "ppo": {"n_steps": 512, "batch_size": 32, "gamma": 0.99,
                "learning_rate": 5.05041e-05, "ent_coef": 0.000585045, "clip_range": 0.1,
                "n_epochs": 20, "gae_lambda": 0.95, "max_grad_norm": 1.0,
                "vf_coef": 0.871923},
        "sac": ZOO_SAC,
    },
    # ppo.yml Ant-v3 (&mujoco-defaults; the tuned Ant-v3 row there is commented out);
    # sac.yml Ant-v3.
    "Ant-v0": {"loop": ZOO_LOOP, "ppo": SB3_PPO, "sac": ZOO_SAC},
    # ppo.yml Swimmer-v3 and sac.yml Swimmer-v3: &mujoco-defaults with gamma 0.9999.
    "Swimmer-v0": {
        "loop": ZOO_LOOP,
        "ppo": {**SB3_PPO, "gamma": 0.9999},
        "sac": {**ZOO_SAC, "gamma": 0.9999},
    },
    "Highway-v0": {
        # 20 evaluation episodes: a crash rate from 5 moves in steps of 20 points.
        # Evaluated as trained, sampling its actions: after 15k steps a policy's most
        # likely action is often "faster" in every state, and its argmax floors it into a
        # crash although the policy itself slows down (seed 0's true-reward agent: 19.4
        # over its last training episodes, 8.9 and 20 crashes in 20 deterministic ones).
        "loop": {"n_envs": 2, "iterations": 4, "eval_episodes": 20,
                 "eval_deterministic": False},
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
    max_steps_per_iteration: int | None
    segment_length: int
    first_label_share: float
    buffer_capacity: int
    fit_epochs: int
    eval_episodes: int
    eval_deterministic: bool
    normalize_reward: bool
    normalize_obs: bool

    def iterations_for(self, timesteps: int) -> int:
        """The refits of a run of ``timesteps`` agent steps.

        ``iterations``, or more where the run is long, so that iterations train
        ``max_steps_per_iteration`` steps or fewer on average (in whole rollouts, some may
        take one more).
        """
        if self.max_steps_per_iteration is None:
            return self.iterations
        return max(self.iterations, math.ceil(timesteps / self.max_steps_per_iteration))


@dataclass(frozen=True)
class Settings:
    """What one run uses: loop settings, SB3 keyword arguments, ``policy_kwargs`` (data).

    ``agent`` holds the agent's SB3 keyword arguments but ``policy_kwargs``, which
    ``policy_kwargs`` holds in their data form (:mod:`rlhf_envs.policies`).
    """

    loop: LoopSettings
    agent: dict
    policy_kwargs: dict = field(default_factory=dict)

    @property
    def gamma(self) -> float:
        """The agent's discount (the reward normalisation uses it too)."""
        return self.agent["gamma"]

    def with_loop(self, **changes: object) -> Settings:
        """These settings with some loop settings changed (``None`` values ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, loop=dataclasses.replace(self.loop, **changes))


def settings_for(env_name: str, algo: str) -> Settings:
    """The settings of an env name (without namespace) and algorithm (``ppo``, ``sac``).

    :param env_name: e.g. ``HalfCheetah-v0``; an env without a row takes the defaults
    :param algo: ``ppo`` or ``sac``
    """
    row = PER_ENV.get(env_name, {})
    loop = {**DEFAULTS["loop"], "segment_length": segment_length(env_name),
            **row.get("loop", {})}
    for key in PER_ALGO_LOOP:
        if isinstance(loop[key], dict):
            loop[key] = loop[key][algo]
    agent = copy.deepcopy({**DEFAULTS[algo], **row.get(algo, {})})  # rows share dicts
    policy_kwargs = agent.pop("policy_kwargs", {})
    return Settings(LoopSettings(**loop), agent, policy_kwargs)
