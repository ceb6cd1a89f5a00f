"""From gymnasium spaces to reward-model inputs, and spaces to JSON for model cards.

Box parts are flattened; Discrete and MultiDiscrete parts are one-hot encoded for
training. In the env loop the first layer of the network is applied part by part
(:meth:`FeatureSpec.first_layer`): a matrix product for Box parts and a row lookup for
discrete ones, so no one-hot array or concatenation is built per step.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from gymnasium import spaces

from feedback.errors import FeedbackError, ModelCardError

SMALL_BATCH = 256  # batches up to this size reuse an input buffer (see first_layer)
SUPPORTED = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def space_to_json(space: spaces.Space) -> dict[str, Any]:
    """A JSON description of a space: enough to tell whether a model fits an env."""
    if isinstance(space, spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype)}
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.ravel().tolist()}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "shape": list(space.shape)}
    raise FeedbackError(
        f"reward models support Box, Discrete, MultiDiscrete and MultiBinary spaces, "
        f"not {type(space).__name__}"
    )


def describe_mismatch(name: str, expected: dict, actual: dict) -> str | None:
    """One line saying how two space descriptions differ (dtype aside), or None."""
    drop = {"dtype"}
    a = {k: v for k, v in expected.items() if k not in drop}
    b = {k: v for k, v in actual.items() if k not in drop}
    if a == b:
        return None
    return f"{name} differs: the model was made for {a}, the env has {b}"


def space_from_json(desc: dict) -> spaces.Space:
    """Rebuild a space from its card description (bounds are not kept, nor needed)."""
    kind = desc.get("type")
    if kind == "Box":
        return spaces.Box(-np.inf, np.inf, shape=tuple(desc["shape"]), dtype=desc["dtype"])
    if kind == "Discrete":
        return spaces.Discrete(desc["n"], start=desc.get("start", 0))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(desc["nvec"])
    if kind == "MultiBinary":
        return spaces.MultiBinary(desc["shape"])
    raise ModelCardError(f"model card names an unknown space type {kind!r}")


class _Part:
    """One input of the network: an observation, an action or a next observation."""

    def __init__(self, space: spaces.Space) -> None:
        space_to_json(space)  # rejects unsupported spaces with a clear message
        self.space = space
        self.discrete = isinstance(space, (spaces.Discrete, spaces.MultiDiscrete))
        if isinstance(space, spaces.Discrete):
            self.offsets = np.array([-int(space.start)])
            self.size = int(space.n)
        elif isinstance(space, spaces.MultiDiscrete):
            nvec = space.nvec.ravel().astype(np.int64)
            self.offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
            self.size = int(nvec.sum())
        else:
            self.offsets = None
            self.size = int(np.prod(space.shape))
        self.width = (
            1
            if isinstance(space, spaces.Discrete)
            else (len(self.offsets) if self.discrete else self.size)
        )

    def rows(self, values: np.ndarray, n: int) -> np.ndarray:
        values = np.asarray(values).reshape(n, -1)
        if values.shape[1] != self.width:
            raise FeedbackError(
                f"input of {values.shape[1]} values per step does not fit space {self.space}"
            )
        return values

    def encode(self, values: np.ndarray, n: int) -> np.ndarray:
        values = self.rows(values, n)
        if not self.discrete:
            return values.astype(np.float32)
        one_hot = np.zeros((n, self.size), dtype=np.float32)
        one_hot[np.arange(n)[:, None], values.astype(np.int64) + self.offsets] = 1.0
        return one_hot


class FeatureSpec:
    """Inputs of a reward model: observation, action and optionally next observation."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        use_next_obs: bool = False,
    ) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        self.use_next_obs = use_next_obs
        self.parts = [_Part(observation_space), _Part(action_space)]
        if use_next_obs:
            self.parts.append(_Part(observation_space))
        bounds = np.cumsum([0] + [p.size for p in self.parts])
        self.slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        self.dim = int(bounds[-1])
        # Positions of Box and of discrete parts, fixed here so predict need not sort them.
        self._dense = [k for k, p in enumerate(self.parts) if not p.discrete]
        self._discrete = [k for k, p in enumerate(self.parts) if p.discrete]
        self._buffers = threading.local()

    def _inputs(self, obs, acts, next_obs) -> list[np.ndarray]:
        if self.use_next_obs:
            if next_obs is None:
                raise FeedbackError("this reward model needs next observations")
            return [obs, acts, next_obs]
        return [obs, acts]

    def encode(self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray | None = None):
        """Features of a batch of transitions, float32 ``(n, dim)``.

        The first axis of ``acts`` is the batch; leading axes of ``(N, T, ...)`` arrays
        may be merged by the caller with ``reshape``.
        """
        n = len(acts)
        inputs = self._inputs(obs, acts, next_obs)
        return np.concatenate([p.encode(v, n) for p, v in zip(self.parts, inputs)], axis=1)

    def __getstate__(self) -> dict:
        # Thread-local buffers are neither copied nor pickled (gymnasium deep-copies the
        # kwargs of gym.make, reward model included; SubprocVecEnv pickles them).
        return {k: v for k, v in self.__dict__.items() if k != "_buffers"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._buffers = threading.local()

    def _input_buffer(self, n: int, width: int) -> np.ndarray:
        """A float32 ``(n, width)`` buffer whose last column is 1 (the bias input).

        Small batches (the env loop's) reuse one buffer per thread and size instead of
        allocating it at every step.
        """
        if n > SMALL_BATCH:
            x = np.empty((n, width), dtype=np.float32)
            x[:, -1] = 1.0
            return x
        buffers = self._buffers.__dict__.setdefault("by_shape", {})
        x = buffers.get((n, width))
        if x is None:
            x = buffers[(n, width)] = np.empty((n, width), dtype=np.float32)
            x[:, -1] = 1.0
        return x

    def split_first_layer(self, weight: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Rearrange a first-layer weight ``(M, dim + 1, H)`` for :meth:`first_layer`.

        Row ``dim`` is the bias (fed by a constant 1). Members go side by side (columns
        ``m*H:(m+1)*H``); the rows of all Box parts and the bias row are stacked into
        one matrix, each discrete part keeps its own rows to look up.
        """
        members, rows, hidden = weight.shape
        flat = weight.transpose(1, 0, 2).reshape(rows, members * hidden)
        dense = [flat[self.slices[k]] for k in self._dense]
        lookups = [np.ascontiguousarray(flat[self.slices[k]]) for k in self._discrete]
        return np.ascontiguousarray(np.concatenate([*dense, flat[self.dim :]])), lookups

    def first_layer(
        self,
        obs: np.ndarray,
        acts: np.ndarray,
        next_obs: np.ndarray | None,
        weights: tuple[np.ndarray, list[np.ndarray]],
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """``[encode(...), 1] @ weight`` for all members side by side, ``(n, M*H)``.

        Box parts are copied into one float32 buffer (with a constant-1 column for the
        bias) and multiplied once; discrete parts add looked-up rows, so no one-hot
        array is built. ``weights`` comes from :meth:`split_first_layer`; the result goes
        into ``out`` if given.
        """
        dense_weight, lookups = weights
        n = len(acts)
        inputs = self._inputs(obs, acts, next_obs)
        x = self._input_buffer(n, len(dense_weight))
        column = 0
        for k in self._dense:
            part, values = self.parts[k], inputs[k]
            if getattr(values, "shape", None) == (n, part.size):  # the env loop's batches
                x[:, column : column + part.size] = values
            else:  # other shapes: flatten, or say clearly what does not fit
                x[:, column : column + part.size] = part.rows(values, n)
            column += part.size
        out = np.matmul(x, dense_weight, out=out)
        for k, rows in zip(self._discrete, lookups):
            part = self.parts[k]
            out += rows[part.rows(inputs[k], n).astype(np.intp) + part.offsets].sum(axis=1)
        return out
