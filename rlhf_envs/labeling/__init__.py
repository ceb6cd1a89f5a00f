"""What the labeling app (:mod:`rlhf_envs.compare`) needs of envs: fresh rollouts and
trained agents' policies (:mod:`.rollouts`), clip renderers for the sessions, and
demonstrations a person acts out (:mod:`.demo_session`)."""

from rlhf_envs.labeling.demo_session import DemoSession, check_demo_env
from rlhf_envs.labeling.rollouts import clip_renderer, load_run_policy, rollout_segments

__all__ = ["DemoSession", "check_demo_env", "clip_renderer", "load_run_policy",
           "rollout_segments"]
