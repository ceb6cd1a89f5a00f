"""Which SB3 policy an agent uses in each env: SB3's MlpPolicy, or a domain's own.

One place, read by the training loop (to build agents) and by :func:`load_policy` (to
load them again), so the two always agree. ``policy_kwargs`` travel as data (JSON-able:
activations by name, e.g. ``"relu"``), as the hyper-parameter table and a checkpoint
keep them; :func:`policy_kwargs_from_data` and :func:`policy_kwargs_to_data` convert.
Domain policy modules load only when used.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from feedback.errors import FeedbackError

# The activations a policy_kwargs' "activation_fn" may name.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU, "silu": nn.SiLU,
}
ACTIVATION_KEY = "activation_fn"


def policy_kwargs_from_data(data: dict | None) -> dict:
    """SB3's ``policy_kwargs`` of their data form (the activation named, e.g. ``"relu"``).

    :param data: policy keyword arguments, ``activation_fn`` a name of :data:`ACTIVATIONS`
    :return: the same, ``activation_fn`` the torch module class
    """
    kwargs = dict(data or {})
    if ACTIVATION_KEY in kwargs:
        name = kwargs[ACTIVATION_KEY]
        if name not in ACTIVATIONS:
            raise FeedbackError(f"unknown activation_fn {name!r}; choose one of: "
                                f"{', '.join(ACTIVATIONS)}")
        kwargs[ACTIVATION_KEY] = ACTIVATIONS[name]
    return kwargs


def policy_kwargs_to_data(kwargs: dict | None) -> dict:
    """The data form of SB3's ``policy_kwargs`` (inverse of :func:`policy_kwargs_from_data`).

    :param kwargs: an agent's ``policy_kwargs``
    :return: the same, ``activation_fn`` by name; raises TypeError for an activation
        that has none in :data:`ACTIVATIONS`
    """
    data = dict(kwargs or {})
    if ACTIVATION_KEY in data:
        names = {cls: name for name, cls in ACTIVATIONS.items()}
        activation = data[ACTIVATION_KEY]
        if activation not in names:
            raise TypeError(f"activation_fn {activation!r} has no name in ACTIVATIONS")
        data[ACTIVATION_KEY] = names[activation]
    return data


def agent_policy(env: Any, algo: str, policy_kwargs: dict | None = None) -> tuple[str | type, dict]:
    """The policy class and ``policy_kwargs`` of an ``algo`` agent in ``env``.

    :param env: a gymnasium env or an SB3 VecEnv
    :param algo: ``ppo`` or ``sac`` (any case)
    :param policy_kwargs: the data form of further policy keyword arguments (the
        hyper-parameter table's, or a checkpoint's), e.g. ``{"net_arch": [64, 64],
        "activation_fn": "relu"}``
    :return: ``("MlpPolicy", kwargs)``, or SlateRec's PPO policy with the env's layout
        and ``kwargs``
    """
    from rlhf_envs.recommendation.policy import SlatePolicy, slate_layout_of

    kwargs = policy_kwargs_from_data(policy_kwargs)
    layout = slate_layout_of(env)
    if layout is not None and algo.lower() == "ppo":
        return SlatePolicy, {"slate_layout": layout, **kwargs}
    return "MlpPolicy", kwargs
