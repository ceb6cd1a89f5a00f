"""Segments: fixed-length slices of trajectories that teachers and people compare.

A :class:`Segment` keeps what the reward model learns from (observations, actions, next
observations), what synthetic teachers judge by (the hidden true reward and its named
terms), and what is needed to draw the clip again later (one render state per step, e.g.
MuJoCo's qpos and qvel), never pixels.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from feedback.errors import FeedbackError, check_count

DEFAULT_SEGMENT_LENGTH = 50


@dataclass
class Segment:
    """A slice of ``len(self)`` consecutive steps of one episode.

    Arrays have the step as their first axis. ``render_states`` is optional (``None``
    when nothing can re-draw the clip). ``source`` says where it came from (``"random"``,
    ``"policy"``, ``"demo"``, ...); ``episode`` and ``start`` locate it in that source.
    """

    obs: np.ndarray
    acts: np.ndarray
    next_obs: np.ndarray
    true_rewards: np.ndarray
    reward_terms: dict[str, np.ndarray] = field(default_factory=dict)
    render_states: np.ndarray | None = None
    env_id: str = ""
    source: str = ""
    episode: int = 0
    start: int = 0
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        n = len(self.true_rewards)
        self.true_rewards = np.asarray(self.true_rewards, dtype=np.float64)
        arrays = {"obs": self.obs, "acts": self.acts, "next_obs": self.next_obs}
        arrays.update({f"reward_terms[{k!r}]": v for k, v in self.reward_terms.items()})
        if self.render_states is not None:
            arrays["render_states"] = self.render_states
        for name, array in arrays.items():
            if len(array) != n:
                raise FeedbackError(
                    f"segment {name} has {len(array)} steps but true_rewards has {n}"
                )

    def __len__(self) -> int:
        return len(self.true_rewards)

    @property
    def true_return(self) -> float:
        """Sum of the hidden task reward over the segment."""
        return float(self.true_rewards.sum())


def cut_segments(
    obs: np.ndarray,
    acts: np.ndarray,
    true_rewards: np.ndarray,
    *,
    next_obs: np.ndarray | None = None,
    reward_terms: Mapping[str, np.ndarray] | None = None,
    render_states: np.ndarray | None = None,
    length: int = DEFAULT_SEGMENT_LENGTH,
    stride: int | None = None,
    env_id: str = "",
    source: str = "",
    episode: int = 0,
) -> list[Segment]:
    """Cut one trajectory into segments of ``length`` steps.

    ``obs`` holds the observation before each action; ``next_obs`` the one after. If
    ``next_obs`` is omitted, ``obs`` must have one more row than ``acts`` (the final
    observation). ``stride`` defaults to ``length`` (no overlap). A tail shorter than
    ``length`` is dropped, so every segment has the same length and fits in one batch.
    """
    length = check_count("segment length", length, 1)
    stride = length if stride is None else check_count("stride", stride, 1)
    acts = np.asarray(acts)
    steps = len(acts)
    obs = np.asarray(obs)
    if next_obs is None:
        if len(obs) != steps + 1:
            raise FeedbackError(
                f"without next_obs, obs needs {steps + 1} rows (one per step plus the last), "
                f"got {len(obs)}"
            )
        next_obs = obs[1:]
        obs = obs[:-1]
    terms = {k: np.asarray(v) for k, v in (reward_terms or {}).items()}
    segments = []
    for start in range(0, steps - length + 1, stride):
        window = slice(start, start + length)
        segments.append(
            Segment(
                obs=obs[window].copy(),
                acts=acts[window].copy(),
                next_obs=np.asarray(next_obs)[window].copy(),
                true_rewards=np.array(np.asarray(true_rewards)[window], dtype=np.float64),
                reward_terms={k: v[window].copy() for k, v in terms.items()},
                render_states=None if render_states is None else render_states[window].copy(),
                env_id=env_id,
                source=source,
                episode=episode,
                start=start,
            )
        )
    return segments


class SegmentBuffer:
    """A bounded first-in-first-out collection of segments of one length.

    When full, adding drops the oldest segments (recent behaviour of the agent is what
    queries should be about).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = check_count("buffer capacity", capacity, 1)
        self._segments: deque[Segment] = deque(maxlen=self.capacity)

    def add(self, segments: Segment | Iterable[Segment]) -> None:
        """Add one segment or many; all must have the buffer's segment length."""
        if isinstance(segments, Segment):
            segments = [segments]
        for segment in segments:
            if self._segments and len(segment) != len(self._segments[0]):
                raise FeedbackError(
                    f"segment of {len(segment)} steps does not fit a buffer of "
                    f"{len(self._segments[0])}-step segments"
                )
            self._segments.append(segment)

    def __len__(self) -> int:
        return len(self._segments)

    def __iter__(self) -> Iterator[Segment]:
        return iter(self._segments)

    def __getitem__(self, index: int) -> Segment:
        return self._segments[index]

    @property
    def segments(self) -> list[Segment]:
        """The buffer's segments as a new list, oldest first."""
        return list(self._segments)

    def sample_pairs(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random pairs of distinct buffer positions, shape ``(n, 2)``."""
        return sample_pairs(len(self), n, rng)


def sample_pairs(population: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` pairs ``(i, j)`` with ``i != j`` drawn uniformly from ``range(population)``."""
    n = check_count("number of pairs", n)
    if n and population < 2:
        raise FeedbackError(f"need at least 2 segments to form pairs, have {population}")
    first = rng.integers(0, population, size=n)
    # Draw the second from the population minus the first: uniform and never equal.
    second = rng.integers(0, population - 1, size=n) if n else first
    second = second + (second >= first)
    return np.stack([first, second], axis=1)


def stack(segments: Sequence[Segment], attribute: str) -> np.ndarray:
    """Stack one array attribute of equal-length segments: shape ``(N, T, ...)``."""
    if not segments:
        raise FeedbackError("no segments to stack")
    return np.stack([getattr(s, attribute) for s in segments])


def true_returns(segments: Sequence[Segment]) -> np.ndarray:
    """Hidden task return of each segment, shape ``(N,)``."""
    return np.array([s.true_return for s in segments])
