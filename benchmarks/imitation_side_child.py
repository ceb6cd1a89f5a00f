"""The imitation 1.0.1 side of ``python -m benchmarks.imitation_side``, in its own venv.

    .venv-imitation/bin/python benchmarks/imitation_side_child.py --threads 1

imitation pins gymnasium 0.29 and Stable-Baselines3 2.2.1, so this file imports nothing of
this project: only the side venv's numpy, torch, gymnasium, SB3 and imitation. The main
script asks, one JSON object a line on stdin (``{"do": NAME, ...arguments}``), and each
answer comes back as one JSON line on stdout (``{"error": ...}`` when a request failed).
Everything else that writes to stdout (imitation's logger, MuJoCo's C library) is sent
to stderr, so the answers stay readable. State that rounds share (the fit data, the
VecEnvs) is kept between requests, so timing rounds can alternate with the main side's.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from typing import Any, TextIO


def answer_channel() -> TextIO:
    """A private copy of stdout for the answers; file descriptor 1 now goes to stderr."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return channel


CHANNEL = answer_channel()  # before the imports below, which may print

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from imitation.algorithms import preference_comparisons as pc  # noqa: E402
from imitation.data.types import TrajectoryWithRew  # noqa: E402
from imitation.data.wrappers import BufferingWrapper, RolloutInfoWrapper  # noqa: E402
from imitation.rewards.reward_nets import (  # noqa: E402
    BasicRewardNet,
    NormalizedRewardNet,
    RewardNet,
)
from imitation.rewards.reward_wrapper import RewardVecEnvWrapper  # noqa: E402
from imitation.util import logger as imit_logger  # noqa: E402
from imitation.util import networks  # noqa: E402
from imitation.util.util import make_vec_env as imitation_vec_env  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize  # noqa: E402

LOG_DIR = tempfile.mkdtemp(prefix="imitation-side-")  # imitation's logger insists on one
STATE: dict[str, Any] = {}  # what timing rounds share between requests


def quiet_logger() -> imit_logger.HierarchicalLogger:
    """imitation's logger writing nowhere (its default prints tables to stdout)."""
    return imit_logger.configure(folder=LOG_DIR, format_strs=[])


def decode(value: Any) -> Any:
    """Undo the main side's encoding: ``{"import": "module:name"}`` is that object."""
    if isinstance(value, dict) and set(value) == {"import"}:
        module, _, name = value["import"].partition(":")
        target: Any = importlib.import_module(module)
        for part in name.split("."):
            target = getattr(target, part)
        return target
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def versions() -> dict:
    """The side venv's package versions."""
    import imitation
    import mujoco
    import stable_baselines3

    return {"imitation": imitation.__version__, "gymnasium": gym.__version__,
            "stable_baselines3": stable_baselines3.__version__, "mujoco": mujoco.__version__,
            "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "torch_threads": torch.get_num_threads()}


def reward_net(venv: VecEnv, hidden_sizes: list[int], normalize_reward: bool) -> RewardNet:
    """A BasicRewardNet; under imitation's own output normalisation (``RunningNorm``, its
    scripts' default) where the main side normalises rewards too."""
    net = BasicRewardNet(venv.observation_space, venv.action_space,
                         hid_sizes=tuple(hidden_sizes))
    return NormalizedRewardNet(net, networks.RunningNorm) if normalize_reward else net


# ---------------------------------------------------------------- a. reward-model fit
def fit_setup(data: str, hidden_sizes: list[int], batch_size: int, epochs: int) -> dict:
    """Load the main side's segments and answers (``.npz``) as imitation's fragments."""
    arrays = np.load(data)
    obs, acts, rews = arrays["obs"], arrays["acts"], arrays["rews"]
    fragments = [TrajectoryWithRew(obs=obs[i], acts=acts[i], infos=None, terminal=False,
                                   rews=rews[i]) for i in range(len(obs))]
    pairs = [(fragments[i], fragments[j]) for i, j in arrays["pairs"]]
    STATE["fit"] = {"pairs": pairs, "preferences": arrays["preferences"].astype(np.float32),
                    "hidden_sizes": tuple(hidden_sizes), "batch_size": batch_size,
                    "epochs": epochs, "space": (obs.shape[-1], acts.shape[-1])}
    return {"pairs": len(pairs), "segment_length": int(acts.shape[1])}


def fit_once() -> dict:
    """One timed fit: a new BasicRewardNet and BasicRewardTrainer, trained on the pairs."""
    fit = STATE["fit"]
    obs_dim, act_dim = fit["space"]
    torch.manual_seed(0)
    started = time.perf_counter()
    net = BasicRewardNet(gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float64),
                         gym.spaces.Box(-1, 1, (act_dim,), np.float32),
                         hid_sizes=fit["hidden_sizes"])
    trainer = pc.BasicRewardTrainer(pc.PreferenceModel(net), pc.CrossEntropyRewardLoss(),
                                    rng=np.random.default_rng(0), batch_size=fit["batch_size"],
                                    epochs=fit["epochs"], lr=1e-3, custom_logger=quiet_logger())
    dataset = pc.PreferenceDataset()
    dataset.push(fit["pairs"], fit["preferences"])
    trainer.train(dataset)
    return {"seconds": time.perf_counter() - started}


# ---------------------------------------------------------------- b. reward wrapper
def wrapper_setup(env_id: str, n_envs: int, hidden_sizes: list[int], normalize_reward: bool,
                  seed: int) -> dict:
    """A bare SB3 VecEnv; the same under ``RewardVecEnvWrapper`` (a BasicRewardNet); and
    the stack ``AgentTrainer`` trains in: imitation's VecEnv (``RolloutInfoWrapper``),
    ``BufferingWrapper`` (it records trajectories), ``RewardVecEnvWrapper``, with the
    learning part's reward net."""
    bare = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    inner = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    net = BasicRewardNet(inner.observation_space, inner.action_space,
                         hid_sizes=tuple(hidden_sizes))
    wrapped = RewardVecEnvWrapper(inner, reward_fn=net.predict_processed)
    recorded = BufferingWrapper(imitation_vec_env(
        env_id, rng=np.random.default_rng(seed), n_envs=n_envs,
        post_wrappers=[lambda env, _: RolloutInfoWrapper(env)]))
    stack = RewardVecEnvWrapper(recorded, reward_fn=reward_net(
        recorded, hidden_sizes, normalize_reward).predict_processed)
    act_dim = bare.action_space.shape[0]
    actions = np.random.default_rng(0).uniform(-1, 1, (256, n_envs, act_dim)).astype(np.float32)
    bare.reset()
    STATE["wrapper"] = {"bare": bare, "wrapped": wrapped, "stack": stack, "actions": actions}
    return {"n_envs": n_envs, "env_id": env_id}


def steps_per_second(venv: VecEnv, actions: np.ndarray, steps: int) -> float:
    """VecEnv steps (of all envs at once) per second."""
    start = time.perf_counter()
    for k in range(steps):
        venv.step(actions[k % len(actions)])
    return steps / (time.perf_counter() - start)


def wrapper_round(steps: int) -> dict:
    """One timing round: the bare VecEnv, the wrapped one, the training stack."""
    w = STATE["wrapper"]
    return {name: steps_per_second(w[name], w["actions"], steps)
            for name in ("bare", "wrapped", "stack")}


# ---------------------------------------------------------------- c. learning
class StepCounter(VecEnvWrapper):
    """Counts every env step, the agent's training and the fragment sampling alike."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.steps = 0

    def reset(self) -> np.ndarray:
        return self.venv.reset()

    def step_wait(self):
        self.steps += self.num_envs
        return self.venv.step_wait()


def true_returns(env_id: str, episodes: int, seed: int, agent: PPO | None,
                 obs_normalizer: VecNormalize | None = None) -> list[float]:
    """Episode returns on the env's own reward; a random policy where ``agent`` is None.

    With ``obs_normalizer`` the agent sees observations as it trained on them (frozen).
    """
    env = gym.make(env_id)
    env.action_space.seed(seed)
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            if agent is None:
                action = env.action_space.sample()
            else:
                seen = obs if obs_normalizer is None else obs_normalizer.normalize_obs(obs)
                action = agent.predict(seen, deterministic=True)[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


def learn(env_id: str, n_envs: int, seed: int, timesteps: int, iterations: int, labels: int,
          fragment_length: int, first_label_share: float, fit_epochs: int, fit_batch_size: int,
          hidden_sizes: list[int], normalize_reward: bool, normalize_obs: bool, ppo: dict,
          eval_episodes: int, eval_seed: int, random_eval_seed: int) -> dict:
    """PPO on a reward learned by imitation's PreferenceComparisons, then its true return.

    ``PreferenceComparisons.train`` asks an initial batch and then ``num_iterations``
    more, training the agent ``total_timesteps // num_iterations`` steps after each: one
    phase more than ``num_iterations``. So ``iterations`` (the main side's refits) maps to
    ``num_iterations = iterations - 1`` and ``total_timesteps`` to that many phases of
    ``timesteps // iterations``: the same phases, fits and agent steps as the main side.

    ``normalize_obs`` (the main side's agent sees normalised observations): SB3's
    ``VecNormalize`` of observations goes under imitation's stack, since ``AgentTrainer``
    hands the agent its own ``RewardVecEnvWrapper``; so here the reward net and the
    fragments see normalised observations too (ours keep raw ones).
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    torch.manual_seed(seed)  # the reward net's initial weights (torch's own seed is random)
    rng = np.random.default_rng(seed)
    counter = StepCounter(imitation_vec_env(
        env_id, rng=rng, n_envs=n_envs, post_wrappers=[lambda env, _: RolloutInfoWrapper(env)]))
    obs_normalizer = (VecNormalize(counter, norm_obs=True, norm_reward=False)
                      if normalize_obs else None)
    venv = counter if obs_normalizer is None else obs_normalizer
    net = reward_net(venv, hidden_sizes, normalize_reward)
    agent = PPO("MlpPolicy", venv, seed=seed, device="cpu", verbose=0, **decode(ppo))
    logger = quiet_logger()
    trainer = pc.AgentTrainer(agent, net, venv, rng=rng, custom_logger=logger)
    comparisons = pc.PreferenceComparisons(
        trainer, net, num_iterations=iterations - 1,
        fragmenter=pc.RandomFragmenter(rng=rng, warning_threshold=0, custom_logger=logger),
        preference_gatherer=pc.SyntheticGatherer(temperature=0, rng=rng, custom_logger=logger),
        reward_trainer=pc.BasicRewardTrainer(
            pc.PreferenceModel(net), pc.CrossEntropyRewardLoss(), rng=rng,
            batch_size=fit_batch_size, epochs=fit_epochs, custom_logger=logger),
        fragment_length=fragment_length, initial_comparison_frac=first_label_share,
        initial_epoch_multiplier=1.0, query_schedule="hyperbolic", custom_logger=logger)
    phase = timesteps // iterations
    outcome = comparisons.train(total_timesteps=phase * (iterations - 1),
                                total_comparisons=labels)
    trained_seconds = time.perf_counter() - started
    if obs_normalizer is not None:
        obs_normalizer.training = False
    returns = true_returns(env_id, eval_episodes, eval_seed, agent, obs_normalizer)
    random_returns = true_returns(env_id, eval_episodes, random_eval_seed, None)
    return {
        "true_return_mean": float(np.mean(returns)),
        "true_returns": returns,
        "random_return_mean": float(np.mean(random_returns)),
        "timesteps": int(agent.num_timesteps),
        "env_steps": counter.steps,
        "labels_used": len(comparisons.dataset),
        "reward_accuracy_train": outcome["reward_accuracy"],
        "train_seconds": trained_seconds,
        "wall_seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
    }


HANDLERS = {"versions": versions, "fit_setup": fit_setup, "fit_once": fit_once,
            "wrapper_setup": wrapper_setup, "wrapper_round": wrapper_round, "learn": learn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch's CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            reply = HANDLERS[request.pop("do")](**request)
        except Exception as err:  # noqa: BLE001 - every failure goes back as an answer
            traceback.print_exc()
            reply = {"error": f"{type(err).__name__}: {err}"}
        CHANNEL.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
