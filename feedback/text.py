"""Text segments: a prompt and one completion, kept as a one-step :class:`Segment`.

A text task's "step" is the whole completion: the observation is the prompt, the action
the completion, and the hidden score of the task's rule is the step's true reward. The
texts are stored as UTF-8 bytes (``uint8`` rows), so the feedback store, the synthetic
teachers, query selection and annotator statistics take text segments as they are; the
store's schema is unchanged. Text segments' env ids start with ``text/``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from feedback.errors import FeedbackError
from feedback.segments import Segment

TEXT_PREFIX = "text/"


def text_env_id(task: str) -> str:
    """The env id of a text task's segments (``text/TASK``)."""
    if not task or "/" in task:
        raise FeedbackError(f"text task name must be non-empty and without '/', got {task!r}")
    return TEXT_PREFIX + task


def is_text(segment: Segment) -> bool:
    """True for a segment made by :func:`text_segment`."""
    return segment.env_id.startswith(TEXT_PREFIX)


def _utf8_row(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).reshape(1, -1).copy()


def text_segment(prompt: str, completion: str, score: float, *, task: str,
                 source: str = "generator", episode: int = 0, start: int = 0) -> Segment:
    """A one-step segment holding ``prompt`` and ``completion``; ``score`` is its true reward.

    ``episode`` and ``start`` locate it: the prompt's index and the completion's sample.
    Its id is a hash of task, prompt and completion, so the same text is one segment
    (``score`` NaN: unknown, e.g. for imported preference rows).
    """
    env_id = text_env_id(task)
    key = "\0".join((env_id, prompt, completion)).encode("utf-8")
    prompt_row = _utf8_row(prompt)
    return Segment(obs=prompt_row, acts=_utf8_row(completion), next_obs=prompt_row.copy(),
                   true_rewards=np.array([float(score)]), env_id=env_id, source=source,
                   episode=episode, start=start, id=hashlib.sha256(key).hexdigest()[:32])


def segment_text(segment: Segment) -> tuple[str, str]:
    """The ``(prompt, completion)`` a text segment holds."""
    if not is_text(segment):
        raise FeedbackError(f"segment {segment.id} of {segment.env_id!r} is not a text segment")
    return (bytes(np.asarray(segment.obs, dtype=np.uint8).ravel()).decode("utf-8"),
            bytes(np.asarray(segment.acts, dtype=np.uint8).ravel()).decode("utf-8"))
