"""Ensemble Bradley-Terry reward model learned from segment comparisons.

Each member is a small MLP r(s, a[, s']); a segment's predicted return is the sum of r over
its steps, and P(left preferred) = sigmoid(R_left - R_right) (Christiano et al. 2017).
All members train at once as batched matrix products, over whole mini-batches of pairs
and steps: no Python loop over pairs. ``predict`` in the env loop uses a numpy copy of
the weights with input and output normalisation folded in (:mod:`feedback.reward_model.folded`).

**The reward's level.** Comparisons fix a reward only up to a constant, which does not
matter when every episode has the same length but decides everything when an episode
can end on failure: a reward below zero teaches the agent to fall, one above zero to
stay alive, whatever the labels said. So each member also learns one number, the reward
of the absorbing state after an episode's end (the padded steps of segments that include
an end, :func:`~feedback.segments.pad_to_length`), and predictions are shifted so that
this state is worth 0, as it is in the env after termination. Staying alive is then
worth exactly what the labels said it is worth against failing. Without any such segment
in the training set the level is the training segments' mean reward (any constant serves
fixed-length episodes).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from gymnasium import spaces

from feedback.errors import FeedbackError, check_count
from feedback.reward_model.evaluation import (
    FitReport,
    agreement,
    heldout_mask,
    labels_hash,
    usable_labels,
)
from feedback.reward_model.features import FeatureSpec, space_from_json
from feedback.reward_model.files import (
    check_card_fits,
    model_card,
    read_model,
    restore_weights,
    weight_bytes,
    write_model,
)
from feedback.reward_model.folded import FoldedEnsemble
from feedback.segments import Segment, live_masks, stack


class RewardModel:
    """An ensemble of MLP reward functions for one env's spaces.

    :param observation_space: the env's observation space
    :param action_space: the env's action space
    :param env_id: the env the model is for, kept in its card ("" fits any env)
    :param ensemble_size: how many members
    :param hidden_sizes: the sizes of each member's ReLU hidden layers
    :param use_next_obs: add the next observation to the inputs
    :param view: which inputs (``obs``, ``acts``, ``next_obs``) and columns the model
        reads, None for all (see :class:`~feedback.reward_model.features.FeatureSpec`);
        given, it replaces ``use_next_obs``
    :param learning_rate: AdamW's learning rate
    :param weight_decay: AdamW's weight decay
    :param device: where fitting runs (``predict`` always runs on a CPU numpy copy)
    :param seed: seeds the initial weights and the order in which members see the pairs
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        *,
        env_id: str = "",
        ensemble_size: int = 3,
        hidden_sizes: Sequence[int] = (64, 64),
        use_next_obs: bool = False,
        view: dict[str, list[int] | None] | None = None,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        device: str = "cpu",
        seed: int | None = 0,
    ) -> None:
        self.env_id = env_id
        self.feature_spec = FeatureSpec(observation_space, action_space, use_next_obs, view)
        self.ensemble_size = check_count("ensemble size", ensemble_size, 1)
        self.hidden_sizes = [check_count("hidden size", h, 1) for h in hidden_sizes]
        if not self.hidden_sizes:
            raise FeedbackError("a reward model needs at least one hidden layer")
        self.device = torch.device(device)
        self.label_count = 0
        self.labels_hash = ""
        self.metrics: dict[str, float | None] = {}
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
        sizes = [self.feature_spec.dim, *self.hidden_sizes, 1]
        self.layer_weights, self.layer_biases = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / fan_in**0.5  # nn.Linear's default initialisation, per member
            w = (torch.rand(self.ensemble_size, fan_in, fan_out, generator=generator) * 2 - 1)
            b = (torch.rand(self.ensemble_size, 1, fan_out, generator=generator) * 2 - 1)
            self.layer_weights.append((w * bound).to(self.device).requires_grad_())
            self.layer_biases.append((b * bound).to(self.device).requires_grad_())
        # Each member's reward of the absorbing state after an episode's end.
        self.absorbing = torch.zeros(self.ensemble_size, device=self.device, requires_grad=True)
        self.feature_mean = torch.zeros(self.feature_spec.dim, device=self.device)
        self.feature_std = torch.ones(self.feature_spec.dim, device=self.device)
        self.output_mean, self.output_std = 0.0, 1.0
        self.anchored = False  # output_mean is the absorbing state's reward (see above)
        self.optimizer = torch.optim.AdamW(
            self.parameters(), lr=learning_rate, weight_decay=weight_decay
        )
        self._rng = np.random.default_rng(seed)
        self._refresh_numpy()

    @property
    def observation_space(self) -> spaces.Space:
        """The observation space the model reads."""
        return self.feature_spec.observation_space

    @property
    def action_space(self) -> spaces.Space:
        """The action space the model reads."""
        return self.feature_spec.action_space

    @property
    def use_next_obs(self) -> bool:
        """Whether :meth:`predict` reads next observations."""
        return self.feature_spec.use_next_obs

    def parameters(self) -> list[torch.Tensor]:
        """The tensors the optimizer trains: weights, biases and absorbing rewards, all members."""
        return [*self.layer_weights, *self.layer_biases, self.absorbing]

    # ------------------------------------------------------------------ torch path
    def _members(self, features: torch.Tensor) -> torch.Tensor:
        """Per-member rewards of features ``(M, n, dim)`` -> ``(M, n)``."""
        h = (features - self.feature_mean) / self.feature_std
        last = len(self.layer_weights) - 1
        for k, (w, b) in enumerate(zip(self.layer_weights, self.layer_biases)):
            h = torch.baddbmm(b, h, w)
            if k < last:
                h = torch.relu(h)
        return h.squeeze(-1)

    def _transitions(self, segments: Sequence[Segment]) -> tuple:
        """Segments' obs, acts and next_obs (or None) with steps merged into the batch axis."""

        def merged(name: str) -> np.ndarray:
            array = stack(segments, name)
            return array.reshape(-1, *array.shape[2:])

        next_obs = merged("next_obs") if self.feature_spec.use_next_obs else None
        return merged("obs"), merged("acts"), next_obs

    def _segment_features(self, segments: Sequence[Segment]) -> torch.Tensor:
        n, steps = len(segments), len(segments[0])
        obs, acts, next_obs = self._transitions(segments)
        flat = self.feature_spec.encode(obs, acts, next_obs)
        return torch.from_numpy(flat.reshape(n, steps, -1)).to(self.device)

    def _step_rewards(self, feats: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
        """Per-member rewards of segment steps ``(M, n, T, dim)``: ``(M, n, T)``.

        Steps that are not ``live`` (``(n, T)``, the absorbing state) get the member's
        absorbing reward.
        """
        members, n, steps, dim = feats.shape
        r = self._members(feats.reshape(members, n * steps, dim)).reshape(members, n, steps)
        return torch.where(live, r, self.absorbing[:, None, None])

    def _live(self, segments: Sequence[Segment]) -> torch.Tensor:
        return torch.from_numpy(live_masks(segments)).to(self.device)

    def member_returns(self, segments: Sequence[Segment]) -> np.ndarray:
        """Each member's predicted (unnormalised) return of each segment: ``(M, N)``."""
        feats = self._segment_features(segments)
        with torch.no_grad():
            r = self._step_rewards(feats.expand(self.ensemble_size, -1, -1, -1),
                                   self._live(segments))
        return r.sum(-1).cpu().numpy()

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        segments: Sequence[Segment],
        pairs: np.ndarray,
        answers: Sequence[str],
        *,
        epochs: int = 50,
        batch_size: int = 64,
        heldout_fraction: float = 0.1,
        weights: np.ndarray | None = None,
    ) -> FitReport:
        """Fit on labelled pairs ``segments[pairs[k, 0]]`` vs ``segments[pairs[k, 1]]``.

        ``answers[k]`` is left/right/equal (``equal`` is a 0.5 target); skips are left
        out. ``weights`` scale each label's loss (e.g. by annotator reliability). About
        ``heldout_fraction`` of the pairs, chosen by :func:`heldout_mask`, is kept out of
        training to measure agreement. Training continues from the current weights.
        """
        started = time.perf_counter()
        epochs = check_count("epochs", epochs, 1)
        batch_size = check_count("batch size", batch_size, 1)
        if not 0 <= heldout_fraction < 1:
            raise FeedbackError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
        pairs, answers, weights, targets = usable_labels(pairs, answers, weights)

        in_heldout = heldout_mask(segments, pairs, heldout_fraction)
        heldout, train = np.flatnonzero(in_heldout), np.flatnonzero(~in_heldout)
        if not len(train):  # a handful of labels, all drawn for held-out: train on them
            heldout, train = heldout[:0], heldout

        # Features only of the segments that are used, indexed by position in `used`.
        used, pair_index = np.unique(pairs, return_inverse=True)
        pair_index = pair_index.reshape(-1, 2)
        feats = self._segment_features([segments[i] for i in used])
        live = self._live([segments[i] for i in used])
        train_segments = np.unique(pair_index[train])
        train_live = live[train_segments]
        train_feats = feats[train_segments][train_live]  # absorbing steps say nothing
        self.feature_mean = train_feats.mean(0)
        self.feature_std = train_feats.std(0).clamp_min(1e-6)

        loss = self._train(feats, live, pair_index[train], targets[train], weights[train],
                           epochs, batch_size)
        seg_returns = self._calibrate(feats, live, train_segments, train_live)

        def split_agreement(rows: np.ndarray) -> float | None:
            if not len(rows):
                return None
            r = seg_returns[pair_index[rows]]
            return agreement(r[:, 0], r[:, 1], [answers[k] for k in rows])

        self.label_count = len(pairs)
        self.labels_hash = labels_hash(segments, pairs, answers)
        report = FitReport(
            n_train=len(train),
            n_heldout=len(heldout),
            epochs=epochs,
            train_loss=loss,
            train_agreement=split_agreement(train),
            heldout_agreement=split_agreement(heldout),
            seconds=time.perf_counter() - started,
        )
        self.metrics = {k: v for k, v in asdict(report).items() if k != "seconds"}
        return report

    def _train(self, feats: torch.Tensor, live: torch.Tensor, pair_index: np.ndarray,
               targets: np.ndarray, weights: np.ndarray, epochs: int,
               batch_size: int) -> float:
        """The epochs of Bradley-Terry loss over ``pair_index`` (rows of ``feats``).

        :return: the last epoch's mean loss per pair
        """
        t_pairs = torch.from_numpy(pair_index).to(self.device)
        t_targets = torch.from_numpy(targets).to(self.device)
        t_weights = torch.from_numpy(weights.astype(np.float32)).to(self.device)
        members, n_train = self.ensemble_size, len(pair_index)
        steps, dim = feats.shape[1], feats.shape[2]
        loss_sum = 0.0
        for _ in range(epochs):
            # Each member sees the pairs in its own order (a cheap source of diversity).
            perm = torch.from_numpy(
                np.argsort(self._rng.random((members, n_train)), axis=1)
            ).to(self.device)
            loss_sum = 0.0
            for begin in range(0, n_train, batch_size):
                idx = perm[:, begin : begin + batch_size]  # (M, b)
                b = idx.shape[1]
                x = feats[t_pairs[idx]].reshape(members, b * 2, steps, dim)
                step_live = live[t_pairs[idx]].reshape(members, b * 2, steps)
                returns = self._step_rewards(x, step_live).reshape(members, b, 2, steps).sum(-1)
                logits = returns[..., 0] - returns[..., 1]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, t_targets[idx], weight=t_weights[idx]
                )
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                loss_sum += loss.item() * b
        return loss_sum / max(n_train, 1)

    def _calibrate(self, feats: torch.Tensor, live: torch.Tensor, train_segments: np.ndarray,
                   train_live: torch.Tensor) -> np.ndarray:
        """Set the output's level and scale from the training segments' live steps.

        Rebuilds the numpy forward pass :meth:`predict` uses.

        :return: the ensemble's return of every segment in ``feats``
        """
        with torch.no_grad():
            rewards = self._step_rewards(feats.expand(self.ensemble_size, -1, -1, -1), live)
            mean_reward = rewards.mean(0)  # the ensemble's reward per step
            lived = mean_reward[train_segments][train_live]
            self.anchored = not bool(train_live.all())
            # The level: the absorbing state's reward if training saw one, else the mean.
            self.output_mean = (float(self.absorbing.mean()) if self.anchored
                                else float(lived.mean()))
            self.output_std = max(float(lived.std()), 1e-6) if len(lived) > 1 else 1.0
            seg_returns = mean_reward.sum(-1).cpu().numpy()
        self._refresh_numpy()
        return seg_returns

    # ------------------------------------------------------------------ numpy fast path
    def _refresh_numpy(self) -> None:
        """Rebuild the float32 numpy forward pass :meth:`predict` uses (after a fit or load)."""
        with torch.no_grad():
            self._folded = FoldedEnsemble(
                self.feature_spec,
                [w.detach().cpu().double().numpy() for w in self.layer_weights],
                [b.detach().cpu().double().numpy()[:, 0, :] for b in self.layer_biases],
                self.feature_mean.cpu().double().numpy(),
                self.feature_std.cpu().double().numpy(),
                self.output_mean,
                self.output_std,
            )

    def predict(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray | None = None
    ) -> np.ndarray:
        """Normalised ensemble-mean reward of a batch of ``n`` transitions: ``(n,)``.

        The first axis of each input is the batch (a single transition is a batch of 1).
        Runs on the CPU in numpy whatever ``device`` is (see :mod:`feedback.reward_model.folded`).
        """
        return self._folded(obs, acts, next_obs)

    def absorbing_reward(self) -> float:
        """The (normalised) reward of the absorbing state after an episode's end.

        0 when the model is anchored on it; what it is worth against lived steps otherwise.
        """
        return (float(self.absorbing.detach().mean()) - self.output_mean) / self.output_std

    def segment_returns(self, segments: Sequence[Segment]) -> np.ndarray:
        """Predicted (normalised) return of each segment, shape ``(N,)``.

        Steps after an episode's end count as the absorbing state's reward.
        """
        n, steps = len(segments), len(segments[0])
        obs, acts, next_obs = self._transitions(segments)
        rewards = self.predict(obs, acts, next_obs).reshape(n, steps)
        return np.where(live_masks(segments), rewards, self.absorbing_reward()).sum(1)

    def agreement(self, left: Sequence[Segment], right: Sequence[Segment], answers) -> float | None:
        """Share of strict answers on pairs ``(left[i], right[i])`` the model agrees with."""
        return agreement(self.segment_returns(left), self.segment_returns(right), answers)

    def check_fits(
        self,
        env_id: str | None = None,
        observation_space: spaces.Space | None = None,
        action_space: spaces.Space | None = None,
    ) -> None:
        """Raise :class:`ModelCardError` if this model was made for another env."""
        check_card_fits("reward model", self.card(), env_id, observation_space, action_space)

    # ------------------------------------------------------------------ files
    def card(self) -> dict:
        """The model's JSON-able description, saved as ``card.json`` and checked on load.

        It holds the format, env id, spaces, architecture, label count and hash, metrics
        and output normalisation (:func:`~feedback.reward_model.files.write_model` adds the
        weights' sha256).
        """
        return model_card(self)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``weights.safetensors`` and ``card.json`` into ``directory``."""
        return write_model(directory, self.card(), weight_bytes(self))

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike,
        *,
        env_id: str | None = None,
        observation_space: spaces.Space | None = None,
        action_space: spaces.Space | None = None,
        device: str = "cpu",
    ) -> RewardModel:
        """Load a saved model; if an env's id or spaces are given, check the model fits."""
        card, tensors = read_model(directory)
        check_card_fits(f"reward model {directory}", card, env_id, observation_space, action_space)
        model = cls(
            observation_space or space_from_json(card["observation_space"]),
            action_space or space_from_json(card["action_space"]),
            env_id=card["env_id"],
            ensemble_size=card["ensemble_size"],
            hidden_sizes=card["hidden_sizes"],
            use_next_obs=card["use_next_obs"],
            view=card.get("view"),  # cards from before views: all of use_next_obs's inputs
            device=device,
        )
        restore_weights(model, tensors, card, f"reward model {directory}")
        model._refresh_numpy()
        return model
