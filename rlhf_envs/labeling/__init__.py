"""What the labeling app (:mod:`rlhf_envs.compare`) needs of envs.

Fresh rollouts, trained agents' policies and clip renderers for the sessions
(:mod:`.rollouts`), and demonstrations a person acts out (:mod:`.demo_session`).
"""

from rlhf_envs.labeling.demo_session import DemoSession, check_demo_env
from rlhf_envs.labeling.rollouts import clip_renderer, load_run_policy, rollout_segments

__all__ = ["DemoSession", "check_demo_env", "clip_renderer", "load_run_policy",
           "rollout_segments"]
