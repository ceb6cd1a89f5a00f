"""The contract between domain envs and the rest of rlhf-envs, and clip re-drawing.

Every domain env (robotics, driving, recommendation) returns its hidden task reward as
the reward of ``step`` and puts in ``info``:

- ``"true_reward"``: that reward, a float;
- ``"reward_terms"``: its named parts, ``dict[str, float]``;
- ``"render_state"``: a 1-D float64 array of fixed length, after the step (also in the
  ``reset`` info), from which a :class:`ClipRenderer` draws the frame again later.

:class:`~rlhf_envs.wrappers.learned_reward.LearnedReward` then swaps the reward for the learned
one. Pixels are made only when a person is going to look: a renderer draws frames from
the render states a segment kept, without stepping any simulation.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from feedback.errors import FeedbackError
from feedback.segments import Segment

TRUE_REWARD, REWARD_TERMS, RENDER_STATE = "true_reward", "reward_terms", "render_state"


def task_info(
    info: dict, true_reward: float, terms: Mapping[str, float], render_state: np.ndarray
) -> dict:
    """Add the contract's keys to a step's ``info`` (returns the same dict)."""
    info[TRUE_REWARD] = float(true_reward)
    info[REWARD_TERMS] = {k: float(v) for k, v in terms.items()}
    info[RENDER_STATE] = np.asarray(render_state, dtype=np.float64)
    return info


class ClipRenderer:
    """Draws frames of one env id from render states; subclasses implement ``draw``."""

    def __init__(self, env_id: str, width: int = 128, height: int = 128) -> None:
        self.env_id = env_id
        self.width, self.height = int(width), int(height)

    def draw(self, render_state: np.ndarray) -> np.ndarray:
        """One RGB frame ``(height, width, 3)`` uint8 of one step's render state."""
        raise NotImplementedError

    def frames(self, segment: Segment) -> np.ndarray:
        """All frames of a segment, ``(T, height, width, 3)`` uint8."""
        if segment.env_id != self.env_id:
            raise FeedbackError(
                f"segment is from {segment.env_id or 'an unnamed env'}, but this renderer "
                f"draws {self.env_id}"
            )
        if segment.render_states is None:
            raise FeedbackError(f"segment {segment.id} kept no render states to draw from")
        return np.stack([self.draw(state) for state in segment.render_states])

    def close(self) -> None:
        """Free drawing resources (GL contexts, windows)."""
