"""Reward-model files: ``weights.safetensors`` plus a JSON ``card.json``.

Nothing is unpickled: weights are safetensors, everything else is JSON. The card holds
the sha256 of the weights file, so a truncated or altered file is caught before use.
Files are written to temporary names and renamed, so a crash never leaves half a model.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from feedback.errors import ModelCardError
from feedback.files import check_format, write_bytes
from feedback.reward_model.features import describe_mismatch, space_to_json

FORMAT = "rlhf-envs-reward-model"
FORMAT_VERSION = 1
CARD_FILE, WEIGHTS_FILE = "card.json", "weights.safetensors"
REQUIRED = ("env_id", "observation_space", "action_space", "use_next_obs", "ensemble_size",
            "hidden_sizes", "label_count", "labels_hash", "metrics", "output_mean",
            "output_std", "weights_sha256")


def write_model(directory: str | os.PathLike, card: dict, weights: bytes) -> Path:
    """Write the weights, then the card that vouches for them; return the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    card = {**card, "weights_sha256": hashlib.sha256(weights).hexdigest()}
    write_bytes(directory / WEIGHTS_FILE, weights)
    write_bytes(directory / CARD_FILE, json.dumps(card, indent=2, sort_keys=True).encode())
    return directory


def read_model(directory: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read and check a model directory (or its card's path): ``(card, tensors)``."""
    directory = Path(directory)
    if directory.name == CARD_FILE:
        directory = directory.parent
    where = f"reward model {directory}"
    card_path, weights_path = directory / CARD_FILE, directory / WEIGHTS_FILE
    if not card_path.is_file():
        raise ModelCardError(f"{where}: no {CARD_FILE} there (is it a saved reward model?)")
    try:
        card = json.loads(card_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelCardError(f"{where}: {CARD_FILE} is not valid JSON ({err})") from None
    check_format(f"{where}: {CARD_FILE}", card, FORMAT, FORMAT_VERSION, ModelCardError)
    missing = [k for k in REQUIRED if k not in card]
    if missing:
        raise ModelCardError(f"{where}: card lacks {', '.join(missing)}")
    if not weights_path.is_file():
        raise ModelCardError(f"{where}: {WEIGHTS_FILE} is missing")
    data = weights_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != card["weights_sha256"]:
        raise ModelCardError(
            f"{where}: {WEIGHTS_FILE} does not match its card (truncated or altered file)"
        )
    try:
        tensors = load_safetensors(data)
    except Exception as err:  # safetensors raises its own error types for bad headers
        raise ModelCardError(f"{where}: {WEIGHTS_FILE} is not readable ({err})") from None
    return card, tensors


def check_card_fits(
    where: str, card: dict, env_id, observation_space, action_space
) -> None:
    """Raise if a card names another env id or other spaces than those given."""
    if env_id is not None and card["env_id"] and card["env_id"] != env_id:
        raise ModelCardError(f"{where} was trained for {card['env_id']}, not {env_id}")
    for name, space in (("observation space", observation_space),
                        ("action space", action_space)):
        if space is not None:
            problem = describe_mismatch(name, card[name.replace(" ", "_")], space_to_json(space))
            if problem:
                raise ModelCardError(f"{where}: {problem}")


def model_card(model) -> dict:
    """A reward model's JSON-able card, saved as ``card.json`` (see :meth:`RewardModel.card`)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "env_id": model.env_id,
        "observation_space": space_to_json(model.observation_space),
        "action_space": space_to_json(model.action_space),
        "use_next_obs": model.feature_spec.use_next_obs,
        "view": model.feature_spec.view,
        "ensemble_size": model.ensemble_size,
        "hidden_sizes": model.hidden_sizes,
        "label_count": model.label_count,
        "labels_hash": model.labels_hash,
        "metrics": model.metrics,
        "output_mean": model.output_mean,
        "output_std": model.output_std,
        "anchored": model.anchored,
    }

def weight_bytes(model) -> bytes:
    """A :class:`~feedback.reward_model.RewardModel`'s tensors as safetensors bytes."""
    tensors = {f"weight.{k}": w.detach() for k, w in enumerate(model.layer_weights)}
    tensors |= {f"bias.{k}": b.detach() for k, b in enumerate(model.layer_biases)}
    tensors |= {"feature_mean": model.feature_mean, "feature_std": model.feature_std,
                "absorbing": model.absorbing.detach()}
    return save_safetensors({k: v.cpu().contiguous() for k, v in tensors.items()})


def restore_weights(model, tensors: dict[str, torch.Tensor], card: dict, where: str) -> None:
    """Put saved tensors and the card's fitted state into a freshly made model."""
    try:
        with torch.no_grad():
            for k, (w, b) in enumerate(zip(model.layer_weights, model.layer_biases)):
                w.copy_(tensors[f"weight.{k}"])
                b.copy_(tensors[f"bias.{k}"])
            model.feature_mean = tensors["feature_mean"].to(model.device)
            model.feature_std = tensors["feature_std"].to(model.device)
            if "absorbing" in tensors:  # models saved before episode ends were learned: 0
                model.absorbing.copy_(tensors["absorbing"])
    except (KeyError, RuntimeError) as err:
        raise ModelCardError(f"{where}: weights do not match its card ({err})") from None
    model.output_mean, model.output_std = card["output_mean"], card["output_std"]
    model.anchored = bool(card.get("anchored", False))
    model.label_count, model.labels_hash = card["label_count"], card["labels_hash"]
    model.metrics = card["metrics"]
