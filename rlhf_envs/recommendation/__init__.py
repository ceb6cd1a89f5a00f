"""Recommendation: SlateRec, our slate recommender with RecSim's interest-evolution user.

:class:`SlateRecEnv` (in :mod:`.simulator`) is the env; :class:`SlateRecClipRenderer`
(in :mod:`.render`) re-draws its steps from render states. The hidden true reward is
watch time; clicks, the reward one would write by hand, favour clickbait.
"""

from __future__ import annotations

import gymnasium as gym

from feedback.errors import FeedbackError
from feedback.ui.pairs import ClipGuide
from rlhf_envs.recommendation.render import SlateRecClipRenderer, render_state_size
from rlhf_envs.recommendation.simulator import SlateRecEnv
from rlhf_envs.registration import env_name

# Our name -> constructor kwargs of SlateRecEnv (defaults for the name).
RECOMMENDATION_ENVS: dict[str, dict] = {"SlateRec-v0": {}}

# What a person judging a clip is told: the picture of rlhf_envs.recommendation.render in
# words. One frame is one slate, held long enough to read (1.5 slates a second).
CLIP_GUIDES = {
    "SlateRec-v0": ClipGuide(
        "Keep the user watching good videos: time watched counts, not clicks.",
        ["Top bar: the user's time left to watch (green: more than at the start).",
         "Boxes: the slate of videos shown, coloured by topic; the bar in each box is its "
         "quality (green up: good, red: bad); yellow-black stripes mark clickbait.",
         "White frame: the video the user clicked; the white bar under it is how much of it "
         "they watched (a dim red strip: no click).",
         "Bottom: the user's interest in each topic (up: likes, down: dislikes)."],
        fps=1.5, ended="episode over: the user left"),
}

__all__ = [
    "CLIP_GUIDES",
    "RECOMMENDATION_ENVS",
    "SlateRecClipRenderer",
    "SlateRecEnv",
    "make_recommendation_env",
    "render_state_size",
]


def make_recommendation_env(
    name: str = "SlateRec-v0", render_mode: str | None = None, **kwargs
) -> gym.Env:
    """A SlateRec env by name; kwargs override its parameters (see :class:`SlateRecEnv`).

    The env truncates itself after ``max_steps``, so it needs no TimeLimit wrapper.
    """
    name = env_name(name, "recommendation")
    try:
        return SlateRecEnv(render_mode=render_mode, **{**RECOMMENDATION_ENVS[name], **kwargs})
    except TypeError as err:  # an unknown keyword
        raise FeedbackError(f"{name}: {str(err).splitlines()[0]}") from None
