"""From gymnasium spaces to reward-model inputs, and spaces to JSON for model cards.

Box parts are flattened; Discrete and MultiDiscrete parts are one-hot encoded for
training. (In the env loop no one-hot array is built: see
:mod:`feedback.reward_model.folded`.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from feedback.errors import FeedbackError, ModelCardError

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


INPUTS = ("obs", "acts", "next_obs")


class _Part:
    """One input of the network: an observation, an action or a next observation.

    ``columns`` (Box spaces only) reads just those of the flattened values.
    """

    def __init__(self, space: spaces.Space, columns: list[int] | None = None) -> None:
        space_to_json(space)  # rejects unsupported spaces with a clear message
        self.space = space
        self.columns = None
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
        self.width = 1 if isinstance(space, spaces.Discrete) else (
            len(self.offsets) if self.discrete else self.size
        )
        if columns is not None:
            if not isinstance(space, spaces.Box):
                raise FeedbackError(f"a reward model reads chosen columns of Box spaces only, "
                                    f"not of {space}")
            self.columns = np.asarray(columns, dtype=np.intp)
            if not len(self.columns) or self.columns.min() < 0 or self.columns.max() >= self.size:
                raise FeedbackError(f"columns to read must be 0..{self.size - 1}, "
                                    f"got {list(columns)[:5]}...")
            self.size = len(self.columns)

    def rows(self, values: np.ndarray, n: int) -> np.ndarray:
        """``values`` as ``(n, size)`` (its columns chosen), or a clear error if they do not fit."""
        values = np.asarray(values).reshape(n, -1)
        if values.shape[1] != self.width:
            raise FeedbackError(
                f"input of {values.shape[1]} values per step does not fit space {self.space}"
            )
        return values if self.columns is None else values[:, self.columns]

    def encode(self, values: np.ndarray, n: int) -> np.ndarray:
        values = self.rows(values, n)
        if not self.discrete:
            return values.astype(np.float32)
        one_hot = np.zeros((n, self.size), dtype=np.float32)
        one_hot[np.arange(n)[:, None], values.astype(np.int64) + self.offsets] = 1.0
        return one_hot


class FeatureSpec:
    """Inputs of a reward model: observation, action and optionally next observation.

    ``view`` says which of ``obs``, ``acts``, ``next_obs`` the model reads, and which
    columns of each (None: all): what a person judging the clip would go by, e.g. only
    the response to a slate in SlateRec's next observation. Without it the model reads
    the observation and action (and the next observation with ``use_next_obs``).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        use_next_obs: bool = False,
        view: dict[str, list[int] | None] | None = None,
    ) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        if view is None:
            view = {"obs": None, "acts": None} | ({"next_obs": None} if use_next_obs else {})
        unknown = set(view) - set(INPUTS)
        if unknown or not view:
            raise FeedbackError(f"a reward model's view names some of {', '.join(INPUTS)}, "
                                f"got {sorted(view)}")
        self.view = {k: None if view[k] is None else [int(c) for c in view[k]]
                     for k in INPUTS if k in view}
        self.use_next_obs = "next_obs" in self.view
        space_of = {"obs": observation_space, "acts": action_space,
                    "next_obs": observation_space}
        self.parts = [_Part(space_of[k], columns) for k, columns in self.view.items()]
        bounds = np.cumsum([0] + [p.size for p in self.parts])
        self.slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        self.dim = int(bounds[-1])
        # Positions of Box and of discrete parts, fixed here so predict need not sort them.
        self.dense = [k for k, p in enumerate(self.parts) if not p.discrete]
        self.discrete = [k for k, p in enumerate(self.parts) if p.discrete]

    def inputs(self, obs, acts, next_obs) -> list[np.ndarray]:
        """The arrays that feed the parts, in order."""
        if self.use_next_obs and next_obs is None:
            raise FeedbackError("this reward model needs next observations")
        given = {"obs": obs, "acts": acts, "next_obs": next_obs}
        return [given[k] for k in self.view]

    def encode(self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray | None = None):
        """Features of a batch of transitions, float32 ``(n, dim)``.

        The first axis of ``acts`` is the batch; leading axes of ``(N, T, ...)`` arrays
        may be merged by the caller with ``reshape``.
        """
        n = len(acts)
        inputs = self.inputs(obs, acts, next_obs)
        return np.concatenate([p.encode(v, n) for p, v in zip(self.parts, inputs)], axis=1)
