"""Observation normalisation of an agent: SB3's VecNormalize to train, frozen to act.

rl-zoo3's ``normalize: true`` runs the agent on SB3's
:class:`~stable_baselines3.common.vec_env.VecNormalize`: a running mean and variance of
observations, each normalised and clipped to [-10, 10]. Here it normalises observations
only (``norm_reward=False``: the reward has its own
:class:`~rlhf_envs.wrappers.ReturnNormalizer`) and sits on top of the stack, above the
:class:`~rlhf_envs.sb3.SegmentRecorder`, so the agent alone sees normalised observations:
segments, the reward model and the teachers keep raw ones. (SAC's replay buffer keeps
raw ones too; SB3 normalises them when it samples.)

The statistics (:func:`obs_statistics`) go into the agent's checkpoint
(:mod:`rlhf_envs.sb3.checkpoint`); :class:`NormalizedObsPolicy` acts on a raw env with
them frozen, exactly as the agent acted in training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from feedback.errors import FeedbackError

CLIP_OBS = 10.0  # rl-zoo3's and SB3's default
EPSILON = 1e-8  # added to the variance before the square root (SB3's default)


def normalize_obs_env(venv: VecEnv) -> VecNormalize:
    """``venv`` behind SB3's running normalisation of observations (rewards unchanged).

    :param venv: the VecEnv the agent would otherwise act in (a Box observation space)
    """
    return VecNormalize(venv, norm_obs=True, norm_reward=False, clip_obs=CLIP_OBS,
                        epsilon=EPSILON)


def obs_normalization_of(agent: BaseAlgorithm) -> VecNormalize | None:
    """The VecNormalize that normalises ``agent``'s observations, None if none does.

    :param agent: an SB3 agent (SB3 finds a VecNormalize anywhere in its env's stack)
    """
    vec_normalize = agent.get_vec_normalize_env()
    return vec_normalize if vec_normalize is not None and vec_normalize.norm_obs else None


def obs_statistics(vec_normalize: VecNormalize) -> dict[str, Any]:
    """A copy of ``vec_normalize``'s observation statistics and settings.

    :param vec_normalize: a VecNormalize of observations of a Box space
    :return: ``{"mean", "var"}`` (float64 arrays), ``{"count", "clip_obs", "epsilon"}``
    """
    rms = vec_normalize.obs_rms
    if isinstance(rms, dict):
        raise TypeError("only observation normalisation of a Box space can be saved")
    return {"mean": rms.mean.copy(), "var": rms.var.copy(), "count": float(rms.count),
            "clip_obs": float(vec_normalize.clip_obs), "epsilon": float(vec_normalize.epsilon)}


def check_obs_statistics(stats: dict[str, Any], shape: tuple[int, ...], where: str) -> dict:
    """``stats`` as arrays and floats, checked to be whole and of ``shape``.

    Raises a one-line :class:`FeedbackError` where they are not.

    :param stats: statistics as :func:`obs_statistics` gives them (arrays or tensors)
    :param shape: the observations' shape
    :param where: what holds them, for the message
    """
    try:
        checked = {"mean": np.array(stats["mean"], dtype=np.float64),
                   "var": np.array(stats["var"], dtype=np.float64),
                   **{k: float(stats[k]) for k in ("count", "clip_obs", "epsilon")}}
    except (KeyError, TypeError, ValueError):
        raise FeedbackError(f"{where}: observation normalisation is damaged") from None
    if checked["mean"].shape != tuple(shape) or checked["var"].shape != tuple(shape):
        raise FeedbackError(f"{where}: observation normalisation of shape "
                            f"{list(checked['mean'].shape)} does not fit observations of "
                            f"shape {list(shape)}")
    values = np.concatenate([checked["mean"], checked["var"],
                             [checked[k] for k in ("count", "clip_obs", "epsilon")]])
    if not np.isfinite(values).all() or (checked["var"] < 0).any() or min(
            checked["count"], checked["clip_obs"], checked["epsilon"]) <= 0:
        raise FeedbackError(f"{where}: observation normalisation is damaged")
    return checked


def fitting_obs_statistics(vec_normalize: VecNormalize, stats: dict[str, Any],
                           where: str) -> dict[str, Any]:
    """``stats`` checked to fit ``vec_normalize`` (its shape, clip and epsilon), as arrays.

    :param vec_normalize: where the statistics are to go
    :param stats: statistics as :func:`obs_statistics` gives them
    :param where: what holds them, for the one-line :class:`FeedbackError`
    """
    mine = obs_statistics(vec_normalize)
    checked = check_obs_statistics(stats, mine["mean"].shape, where)
    if (checked["clip_obs"], checked["epsilon"]) != (mine["clip_obs"], mine["epsilon"]):
        raise FeedbackError(f"{where}: observation normalisation clips at "
                            f"{checked['clip_obs']} (epsilon {checked['epsilon']}), this "
                            f"agent's at {mine['clip_obs']} ({mine['epsilon']})")
    return checked


def load_obs_statistics(vec_normalize: VecNormalize, stats: dict[str, Any],
                        where: str = "observation normalisation") -> None:
    """Put statistics of :func:`obs_statistics` back into ``vec_normalize``.

    Raises a one-line :class:`FeedbackError`, changing nothing, where they do not fit.

    :param vec_normalize: the VecNormalize to restore
    :param stats: statistics as :func:`obs_statistics` gives them
    :param where: what holds them, for messages
    """
    checked = fitting_obs_statistics(vec_normalize, stats, where)
    rms = vec_normalize.obs_rms
    rms.mean, rms.var, rms.count = checked["mean"], checked["var"], checked["count"]


class NormalizedObsPolicy:
    """Act on raw observations with a policy trained on normalised ones.

    Observations are normalised as :class:`VecNormalize` does (``(obs - mean) /
    sqrt(var + epsilon)``, clipped, as float32) with statistics that never change.

    :param policy: anything with SB3's ``predict`` (a policy or an agent)
    :param stats: the statistics, as :func:`obs_statistics` gives them
    """

    def __init__(self, policy: Any, stats: dict[str, Any]) -> None:
        self.policy = policy
        self.mean = np.array(stats["mean"], dtype=np.float64)
        self.var = np.array(stats["var"], dtype=np.float64)
        self.clip_obs, self.epsilon = float(stats["clip_obs"]), float(stats["epsilon"])

    def normalize_obs(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` (one or a batch) as the agent saw it in training."""
        scaled = (obs - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(scaled, -self.clip_obs, self.clip_obs).astype(np.float32)

    def predict(self, observation: np.ndarray, state: tuple | None = None,
                episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, tuple | None]:
        """The policy's action for a raw ``observation`` (SB3's ``predict``)."""
        return self.policy.predict(self.normalize_obs(observation), state, episode_start,
                                   deterministic)


def acting_policy(agent: BaseAlgorithm) -> BaseAlgorithm | NormalizedObsPolicy:
    """``agent``, made to act on raw observations.

    Behind a frozen copy of its observation normalisation if it trains with one, else
    ``agent`` itself.

    :param agent: an SB3 agent
    """
    vec_normalize = obs_normalization_of(agent)
    if vec_normalize is None:
        return agent
    return NormalizedObsPolicy(agent, obs_statistics(vec_normalize))
