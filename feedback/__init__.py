"""Domain-agnostic preference learning; it imports neither ``rlhf_envs`` nor ``agents``.

Segments, teachers, queries, the reward model, the feedback store and the labeling UI. The
public names below are imported on first use, so ``import feedback.segments`` does not pay
for torch or SQLite::

    from feedback import FeedbackStore, RewardModel, Segment, make_teacher
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "ANSWERS": "feedback.answers",
    "FeedbackError": "feedback.errors",
    "FeedbackStore": "feedback.store",
    "FitReport": "feedback.reward_model",
    "RewardModel": "feedback.reward_model",
    "Segment": "feedback.segments",
    "SegmentBuffer": "feedback.segments",
    "SyntheticTeacher": "feedback.teachers",
    "cut_segments": "feedback.segments",
    "make_teacher": "feedback.teachers",
    "pad_to_length": "feedback.segments",
    "sample_pairs": "feedback.segments",
    "select_pairs": "feedback.queries",
    "training_pairs": "feedback.training_pairs",
}

__all__ = sorted(_PUBLIC)


def __dir__() -> list[str]:
    """The module's names, the lazy public ones included (for ``dir`` and completion)."""
    return sorted({*globals(), *_PUBLIC})


def __getattr__(name: str) -> object:
    """Import a public name's module the first time the name is asked for (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'feedback' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
