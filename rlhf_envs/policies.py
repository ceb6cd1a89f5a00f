"""Which SB3 policy an agent uses in each env: SB3's MlpPolicy, or a domain's own.

One place, read by the training loop (to build agents) and by :func:`load_policy` (to
load them again), so the two always agree. Domain policy modules load only when used.
"""

from __future__ import annotations

from typing import Any


def agent_policy(env: Any, algo: str) -> tuple[str | type, dict]:
    """The policy class and ``policy_kwargs`` of an ``algo`` agent in ``env``.

    :param env: a gymnasium env or an SB3 VecEnv
    :param algo: ``ppo`` or ``sac`` (any case)
    :return: ``("MlpPolicy", {})``, or SlateRec's PPO policy with the env's layout
    """
    from rlhf_envs.recommendation.policy import SlatePolicy, slate_layout_of

    layout = slate_layout_of(env)
    if layout is not None and algo.lower() == "ppo":
        return SlatePolicy, {"slate_layout": layout}
    return "MlpPolicy", {}
