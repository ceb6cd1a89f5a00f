"""What a reward wrapper accepts: any object with ``predict(obs, acts, next_obs)``.

:class:`~feedback.reward_model.RewardModel` is one; so is any object a user writes with
that method. A path is loaded as a saved ``RewardModel``. An object that also has
``check_fits(env_id, observation_space, action_space)`` (our models do) is checked
against the env it is put on; one with ``use_next_obs = False`` is told no next
observations, which lets the VecEnv wrapper predict before the envs step.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np
from gymnasium import spaces

from feedback.reward_model import RewardModel


@runtime_checkable
class RewardFunction(Protocol):
    """Rewards of a batch of ``n`` transitions, shape ``(n,)``."""

    def predict(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray | None
    ) -> np.ndarray:
        """Rewards of ``n`` transitions.

        :param obs: observations before the actions, ``(n, ...)``
        :param acts: the actions, ``(n, ...)``
        :param next_obs: observations after them (None if the function needs none)
        :return: one reward per transition, ``(n,)``
        """


RewardFunctionLike = RewardFunction | str | os.PathLike | None


class NoRewardModelWarning(UserWarning):
    """An env runs without a reward model: its reward is 0.0."""


def resolve_reward_function(
    reward: RewardFunctionLike,
    env_id: str,
    observation_space: spaces.Space,
    action_space: spaces.Space,
) -> RewardFunction | None:
    """Load a saved model from a path, or check an object, against an env; None stays None.

    :param reward: a :class:`RewardFunction`, a path to a saved ``RewardModel``, or None
    :param env_id: the id the model must have been trained for ("" for any)
    :param observation_space: the env's observation space
    :param action_space: the env's action space
    :raises TypeError: if ``reward`` has no ``predict`` method
    :raises ModelCardError: if a model was made for another env or other spaces
    """
    if reward is None:
        return None
    if isinstance(reward, (str, os.PathLike)):
        return RewardModel.load(reward, env_id=env_id or None,
                                observation_space=observation_space, action_space=action_space)
    if not callable(getattr(reward, "predict", None)):
        raise TypeError(f"reward_model must have predict(obs, acts, next_obs) or be a path, "
                        f"not {type(reward).__name__}")
    check_fits = getattr(reward, "check_fits", None)
    if callable(check_fits):
        check_fits(env_id or None, observation_space, action_space)
    return reward


def uses_next_obs(reward: RewardFunction) -> bool:
    """Whether ``reward`` reads next observations (True unless it says otherwise)."""
    return bool(getattr(reward, "use_next_obs", True))
