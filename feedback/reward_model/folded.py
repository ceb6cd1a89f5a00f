"""The reward model's forward pass for the env loop: float32 numpy, everything folded in.

In the env loop a prediction is a batch of a few transitions, so its cost is mostly
the number of numpy calls (about a microsecond each), not arithmetic. Hence:

- input normalisation is folded into the first layer, output normalisation and the
  ensemble mean into the last;
- biases are weight rows fed by a constant-1 input, and each member carries a constant-1
  unit (ReLU keeps 1 as 1), so every layer is one matrix product;
- the members' last layers are stacked into one vector, so the sum over members is
  part of the last product;
- the first layer is applied part by part: Box parts are copied into one input buffer
  (with a constant-1 column) and multiplied once; discrete parts add looked-up rows, so
  no one-hot array is built;
- each thread keeps a plan per batch size (buffers, and views into them made once), so
  a step allocates nothing but its result;
- 2-D products use ``np.dot`` and ReLU's floor is a float32 0-d array: both dispatch
  faster than ``np.matmul`` and a Python float (measured: ``benchmarks/reward_model``).

For Box spaces and two hidden layers a prediction is seven numpy calls.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from feedback.reward_model.features import FeatureSpec

SMALL_BATCH = 256  # batches up to this size reuse per-thread buffers
ZERO = np.zeros((), dtype=np.float32)  # ReLU's floor: a float32 0-d array is the fastest operand


class FoldedEnsemble:
    """``predict(obs, acts, next_obs)`` of a whole ensemble in a few numpy calls.

    Built from the trained float64 weights ``(M, fan_in, fan_out)`` and biases
    ``(M, fan_out)`` of each layer, the feature normalisation, and the output
    normalisation; gives the normalised ensemble-mean reward.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        feature_mean: np.ndarray,
        feature_std: np.ndarray,
        output_mean: float,
        output_std: float,
    ) -> None:
        members = weights[0].shape[0]
        ws, bs = list(weights), list(biases)
        # (x - mean) / std @ W + b  ==  x @ (W / std) + (b - mean / std @ W)
        first = ws[0] / feature_std[None, :, None]
        bs[0] = bs[0] - np.einsum("d,mdh->mh", feature_mean, first)
        ws[0] = first
        # Output: (mean over members - output_mean) / output_std.
        ws[-1] = ws[-1] / (members * output_std)
        bs[-1] = (bs[-1] - output_mean) / (members * output_std)
        layers = []
        for k, (w, b) in enumerate(zip(ws, bs)):
            last = k == len(ws) - 1
            fan_in, fan_out = w.shape[1], w.shape[2]
            aug = np.zeros((members, fan_in + 1, fan_out + (0 if last else 1)))
            aug[:, :fan_in, :fan_out] = w
            aug[:, fan_in, :fan_out] = b  # the bias, fed by the constant input
            if not last:
                aug[:, fan_in, fan_out] = 1.0  # pass the constant on to the next layer
            layers.append(aug.astype(np.float32))
        self.feature_spec = spec
        self.members = members
        self._split_first_layer(layers[0])
        self.hidden = layers[1:-1]  # (M, fan_in + 1, fan_out + 1) each
        self.last = np.ascontiguousarray(layers[-1].reshape(-1))  # members stacked
        self.widths = [layers[0].shape[2], *(w.shape[2] for w in self.hidden)]
        self._buffers = threading.local()

    def __getstate__(self) -> dict:
        # Per-thread buffers are neither copied nor pickled (gymnasium deep-copies the
        # kwargs of gym.make, reward model included; SubprocVecEnv pickles them).
        return {k: v for k, v in self.__dict__.items() if k != "_buffers"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._buffers = threading.local()

    def _split_first_layer(self, weight: np.ndarray) -> None:
        """Arrange the first layer ``(M, dim + 1, H)`` for :meth:`_first_layer`.

        Row ``dim`` is the bias (fed by a constant 1). Members go side by side (columns
        ``m*H:(m+1)*H``); the rows of all Box parts and the bias row are stacked into
        one matrix, each discrete part keeps its own rows to look up.
        """
        spec = self.feature_spec
        members, rows, hidden = weight.shape
        flat = weight.transpose(1, 0, 2).reshape(rows, members * hidden)
        dense = [flat[spec.slices[k]] for k in spec.dense]
        self.dense_weight = np.ascontiguousarray(np.concatenate([*dense, flat[spec.dim :]]))
        self.lookups = [np.ascontiguousarray(flat[spec.slices[k]]) for k in spec.discrete]
        # Where each Box part goes in the input buffer.
        bounds = np.cumsum([0] + [spec.parts[k].size for k in spec.dense])
        self.columns = [
            (k, slice(int(a), int(b))) for k, a, b in zip(spec.dense, bounds, bounds[1:])
        ]

    def _plan(self, n: int) -> _Plan:
        """The buffers and views for a batch of ``n``.

        Small batches (the env loop's) reuse one plan per thread and size.
        """
        if n > SMALL_BATCH:
            return _Plan(self, n)
        plans = getattr(self._buffers, "plans", None)
        if plans is None:
            plans = self._buffers.plans = {}
        plan = plans.get(n)
        if plan is None:
            plan = plans[n] = _Plan(self, n)
        return plan

    def __call__(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray | None = None
    ) -> np.ndarray:
        """Normalised ensemble-mean reward of ``n`` transitions, a new ``(n,)`` array."""
        inputs = self.feature_spec.inputs(obs, acts, next_obs)
        n = len(acts)
        plan = self._plan(n)
        for k, view in plan.columns:  # Box parts into the input buffer
            values = inputs[k]
            if getattr(values, "shape", None) == view.shape:  # the env loop's
                view[...] = values
            else:  # other shapes: flatten, or say clearly what does not fit
                view[...] = self.feature_spec.parts[k].rows(values, n)
        h = plan.layers[0]
        np.dot(plan.x, self.dense_weight, out=h)
        if self.lookups:  # discrete parts: add their looked-up rows
            for k, rows in zip(self.feature_spec.discrete, self.lookups):
                part = self.feature_spec.parts[k]
                h += rows[part.rows(inputs[k], n).astype(np.intp) + part.offsets].sum(axis=1)
        np.maximum(h, ZERO, out=h)
        for weight, by_member, h, next_by_member in plan.hidden:
            np.matmul(by_member, weight, out=next_by_member)
            np.maximum(h, ZERO, out=h)
        return np.dot(h, self.last)


class _Plan:
    """Buffers of one batch size ``n``, and the views into them, made once.

    The input ``(n, Box dims + 1)`` with its last column 1 and a view per Box part; per
    layer an ``(n, M*H)`` array with its ``(M, n, H)`` view by member; and per hidden
    layer what it reads and writes.
    """

    def __init__(self, folded: FoldedEnsemble, n: int) -> None:
        self.x = np.empty((n, len(folded.dense_weight)), dtype=np.float32)
        self.x[:, -1] = 1.0
        self.columns = [(k, self.x[:, columns]) for k, columns in folded.columns]
        self.layers, by_member = [], []
        for width in folded.widths:
            flat = np.empty((n, folded.members * width), dtype=np.float32)
            self.layers.append(flat)
            by_member.append(flat.reshape(n, folded.members, width).transpose(1, 0, 2))
        # (weight, input by member, output, output by member) of each hidden layer
        self.hidden = list(zip(folded.hidden, by_member, self.layers[1:], by_member[1:]))
