"""Segments: fixed-length slices of trajectories that teachers and people compare.

A :class:`Segment` keeps what the reward model learns from (observations, actions, next
observations), what synthetic teachers judge by (the hidden true reward and its named
terms), and what is needed to draw the clip again later (one render state per step, e.g.
MuJoCo's qpos and qvel), never pixels.

An episode that *terminates* (the robot falls, the car crashes, the user leaves) ends in an
absorbing state: nothing more happens and no more reward comes. Its last, shorter
segment is padded to full length with that state (:func:`pad_to_length`), and
``Segment.end`` says where the padding starts. So teachers and people see the failure,
and the reward model learns what the absorbing state is worth against staying alive
(the level a Bradley-Terry model cannot otherwise tell; see
:mod:`feedback.reward_model.model`). An episode cut off by a time limit is not padded:
its future is unknown, not absent.
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
    ``end`` is None when every step is lived; otherwise the episode terminated after step
    ``end - 1`` and steps ``end ..`` are its absorbing state (see :func:`pad_to_length`).
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
    end: int | None = None

    def __post_init__(self) -> None:
        n = len(self.true_rewards)
        if self.end is not None:
            self.end = int(self.end)
            if not 1 <= self.end <= n:
                raise FeedbackError(f"segment end must be between 1 and its {n} steps, "
                                    f"got {self.end}")
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
    def live(self) -> np.ndarray:
        """Which steps were lived (True) rather than the absorbing state after the end."""
        steps = np.arange(len(self))
        return steps < (len(self) if self.end is None else self.end)

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


def pad_to_length(segment: Segment, length: int) -> Segment:
    """The last segment of a terminated episode, padded to ``length`` steps.

    The padding is the absorbing state: the last observation (the terminal one) and
    render state held, zero actions, zero true reward and reward terms. ``end`` marks
    where it starts. A segment already ``length`` steps long gets ``end = length`` (the
    episode ended on its last step) so teachers still know it ended.
    """
    length = check_count("segment length", length, 1)
    n = len(segment)
    if not 1 <= n <= length:
        raise FeedbackError(f"cannot pad a {n}-step segment to {length} steps")
    pad = length - n

    def held(array: np.ndarray) -> np.ndarray:
        return np.concatenate([array, np.repeat(array[-1:], pad, axis=0)])

    def zeros(array: np.ndarray) -> np.ndarray:
        return np.concatenate([array, np.zeros((pad, *array.shape[1:]), array.dtype)])

    last = segment.next_obs[-1:]  # the terminal observation, before and after each pad step
    return Segment(
        obs=np.concatenate([segment.obs, np.repeat(last, pad, axis=0)]),
        acts=zeros(segment.acts),
        next_obs=np.concatenate([segment.next_obs, np.repeat(last, pad, axis=0)]),
        true_rewards=zeros(segment.true_rewards),
        reward_terms={k: zeros(v) for k, v in segment.reward_terms.items()},
        render_states=None if segment.render_states is None else held(segment.render_states),
        env_id=segment.env_id, source=segment.source, episode=segment.episode,
        start=segment.start, id=segment.id, end=n,
    )


def live_masks(segments: Sequence[Segment]) -> np.ndarray:
    """Which steps of equal-length segments were lived: bool ``(N, T)``."""
    return np.stack([s.live for s in segments])


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
