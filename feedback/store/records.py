"""What a feedback store holds: its records, the checks of what goes in, the segment codec.

Segments are encoded as safetensors bytes, never pickled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import safetensors.numpy

from feedback.errors import FeedbackError
from feedback.segments import Segment

SYNTHETIC, HUMAN = "synthetic", "human"
ANNOTATOR_KINDS = (SYNTHETIC, HUMAN)  # a synthetic teacher, or a person
MAX_NAME_LENGTH = 64
MAX_NOTE_LENGTH = 500  # characters of a person's note on an answer


@dataclass(frozen=True)
class Query:
    """A pair of stored segments to compare."""

    id: int
    left_id: str
    right_id: str
    strategy: str
    iteration: int
    run_id: str = ""  # the training run that asked it ('' : none in particular)


@dataclass(frozen=True)
class Label:
    """One answer to a query, by a synthetic teacher or a person (``annotator_kind``)."""

    id: int
    query_id: int
    left_id: str
    right_id: str
    answer: str
    annotator: str
    annotator_kind: str
    seconds: float
    created: float
    kind: str
    flagged: bool = False  # the person marked the pair broken or unjudgeable
    note: str = ""         # their free text about it


@dataclass(frozen=True)
class Rating:
    """A person's 1-5 rating of one stored segment (``rating`` None: skipped)."""

    id: int
    segment_id: str
    rating: int | None
    annotator: str
    annotator_kind: str
    seconds: float
    created: float
    flagged: bool = False  # the person marked the clip broken or unjudgeable
    note: str = ""         # their free text about it


@dataclass(frozen=True)
class Demonstration:
    """A segment a person acted out themselves (the env's keys, in ``--mode demo``)."""

    segment_id: str
    annotator: str
    created: float


def check_annotator_kind(kind: str) -> str:
    """Annotator kinds are ``synthetic`` (a teacher that sees the true reward) or ``human``."""
    if kind not in ANNOTATOR_KINDS:
        raise FeedbackError(f"annotator kind must be {' or '.join(map(repr, ANNOTATOR_KINDS))}, "
                            f"not {kind!r}")
    return kind


def check_seconds(seconds: float) -> float:
    """How long a person took: a finite number of seconds, at least 0."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        value = float("nan")
    if not (math.isfinite(value) and value >= 0):
        raise FeedbackError(f"seconds must be a finite number of at least 0, not {seconds!r}")
    return value


def check_note(note: str) -> str:
    """A person's note on an answer: one line of at most MAX_NOTE_LENGTH characters."""
    if not isinstance(note, str) or "\n" in note or "\r" in note:
        raise FeedbackError("a note is one line of text")
    if len(note) > MAX_NOTE_LENGTH:
        raise FeedbackError(f"a note is at most {MAX_NOTE_LENGTH} characters, got {len(note)}")
    return note


def check_annotator_name(name: str) -> str:
    """Annotator names are 1-64 printable characters (they end up in reports and logs)."""
    if not isinstance(name, str) or not name.strip():
        raise FeedbackError("annotator name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise FeedbackError(f"annotator name is longer than {MAX_NAME_LENGTH} characters")
    if not name.isprintable():
        raise FeedbackError(f"annotator name {name!r} contains control characters")
    return name


def encode_segment(segment: Segment) -> bytes:
    """Segment arrays as safetensors bytes (no pickle)."""
    arrays = {
        "obs": segment.obs, "acts": segment.acts, "next_obs": segment.next_obs,
        "true_rewards": segment.true_rewards,
    }
    arrays |= {f"reward_terms.{k}": v for k, v in segment.reward_terms.items()}
    if segment.render_states is not None:
        arrays["render_states"] = segment.render_states
    if segment.end is not None:  # where the absorbing state after an episode's end starts
        arrays["end"] = np.array([segment.end], np.int64)
    return safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in arrays.items()})


def decode_segment(arrays: bytes, *, id: str, env_id: str, source: str, episode: int,
                   start: int) -> Segment:
    """The segment of a ``segments`` row: its ``arrays`` column decoded, its other columns."""
    tensors = safetensors.numpy.load(bytes(arrays))
    terms = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith("reward_terms.")}
    return Segment(
        obs=tensors["obs"], acts=tensors["acts"], next_obs=tensors["next_obs"],
        true_rewards=tensors["true_rewards"], reward_terms=terms,
        render_states=tensors.get("render_states"), env_id=env_id, source=source,
        episode=episode, start=start, id=id,
        end=int(tensors["end"][0]) if "end" in tensors else None,
    )
