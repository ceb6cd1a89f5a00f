"""A reward model for text: a frozen Hugging Face encoder and an ensemble of scalar heads.

The encoder (any Hugging Face model with hidden states, e.g. the policy LM itself) reads
prompt and completion as one sequence; the mean of its token states (input embeddings and
last layer, side by side) over the prompt's tokens and over the completion's tokens are
the two feature vectors. The heads are :class:`feedback.reward_model.RewardModel` with
the prompt's vector as its observation and the completion's as its action: the same
batched ensemble, Bradley-Terry loss, held-out split and normalisation as the other
domains, and its disagreement drives query selection. The encoder stays frozen, so
features are computed once per segment and cached.

Saved as a directory: ``card.json`` (this format, the pooling, and the encoder's files'
sha256), ``encoder/`` (``save_pretrained``: config and safetensors weights, tokenizer) and
``heads/`` (the reward model's safetensors and card). Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from gymnasium import spaces
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from feedback.errors import ModelCardError
from feedback.files import check_format, write_json
from feedback.reward_model import FitReport, RewardModel
from feedback.segments import Segment
from feedback.text import segment_text

FORMAT, FORMAT_VERSION = "rlhf-envs-text-reward-model", 1
POOLING = "mean(embeddings, last hidden state) over prompt tokens and over completion tokens"


class TextEncoder:
    """Pooled features of (prompt, completion) pairs from a frozen Hugging Face model.

    :param model: the encoder (a causal LM's base model or any model with hidden states)
    :param tokenizer: its tokenizer
    :param batch_size: sequences per forward pass
    :param max_length: the most tokens read of prompt plus completion (the prompt's end
        and the completion are kept)
    """

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *,
                 batch_size: int = 32, max_length: int = 512) -> None:
        self.model, self.tokenizer = model.eval(), tokenizer
        self.batch_size, self.max_length = batch_size, max_length
        self.dim = 2 * model.config.hidden_size

    def features(self, prompts: Sequence[str], completions: Sequence[str]
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Prompt and completion feature vectors, each ``(N, dim)`` float32."""
        prompt_parts, completion_parts = [], []
        for begin in range(0, len(prompts), self.batch_size):
            p, c = self._batch(prompts[begin:begin + self.batch_size],
                               completions[begin:begin + self.batch_size])
            prompt_parts.append(p)
            completion_parts.append(c)
        if not prompt_parts:
            empty = np.zeros((0, self.dim), np.float32)
            return empty, empty
        return np.concatenate(prompt_parts), np.concatenate(completion_parts)

    def _batch(self, prompts: Sequence[str], completions: Sequence[str]):
        tokenize = self.tokenizer
        rows, in_prompt = [], []
        for prompt, completion in zip(prompts, completions):
            p = tokenize(prompt, add_special_tokens=False)["input_ids"]
            c = tokenize(completion, add_special_tokens=False)["input_ids"]
            row = (p + c)[-self.max_length:]
            rows.append(row)
            in_prompt.append(max(len(row) - len(c), 0))
        width = max(max(len(r) for r in rows), 1)
        ids = torch.full((len(rows), width), tokenize.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for k, row in enumerate(rows):  # right padding: positions start at 0 in every row
            ids[k, :len(row)] = torch.tensor(row, dtype=torch.long)
            mask[k, :len(row)] = 1
        position = torch.arange(width)[None, :]
        prompt_mask = (position < torch.tensor(in_prompt)[:, None]) & mask.bool()
        completion_mask = (position >= torch.tensor(in_prompt)[:, None]) & mask.bool()
        device = self.model.device
        with torch.no_grad():
            out = self.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                             output_hidden_states=True)
        states = torch.cat([out.hidden_states[0], out.hidden_states[-1]], -1).float().cpu()
        return _masked_mean(states, prompt_mask), _masked_mean(states, completion_mask)


def _masked_mean(states: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    weights = mask.float()[..., None]
    return ((states * weights).sum(1) / weights.sum(1).clamp_min(1.0)).numpy()


class TextRewardModel:
    """Scores completions of prompts; learned from comparisons of text segments.

    :param encoder: the frozen encoder of prompts and completions
    :param task: the text task's name (kept in the heads' card as ``text/TASK``)
    :param ensemble_size: how many heads
    :param hidden_sizes: each head's hidden layers
    :param seed: seeds the heads' initial weights and the order they see pairs in
    :param device: where the heads are fitted
    :param heads: heads already made (a loaded model's); the options above are then unused
    """

    def __init__(self, encoder: TextEncoder, *, task: str = "", ensemble_size: int = 3,
                 hidden_sizes: Sequence[int] = (64, 64), seed: int = 0,
                 device: str = "cpu", heads: RewardModel | None = None) -> None:
        self.encoder = encoder
        box = spaces.Box(-np.inf, np.inf, (encoder.dim,), np.float32)
        self.heads = heads or RewardModel(
            box, box, env_id=f"text/{task}" if task else "", ensemble_size=ensemble_size,
            hidden_sizes=hidden_sizes, seed=seed, device=device)
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def ensemble_size(self) -> int:
        """How many heads the ensemble has."""
        return self.heads.ensemble_size

    @property
    def label_count(self) -> int:
        """How many labels the last fit used."""
        return self.heads.label_count

    def _feature_segments(self, segments: Sequence[Segment]) -> list[Segment]:
        """Each text segment as a one-step segment of its feature vectors (cached by id)."""
        missing = [s for s in segments if s.id not in self._cache]
        if missing:
            texts = [segment_text(s) for s in missing]
            prompt_feats, completion_feats = self.encoder.features(
                [p for p, _ in texts], [c for _, c in texts])
            for segment, p, c in zip(missing, prompt_feats, completion_feats):
                self._cache[segment.id] = (p[None], c[None])
        out = []
        for s in segments:
            p, c = self._cache[s.id]
            out.append(Segment(obs=p, acts=c, next_obs=p, true_rewards=s.true_rewards,
                               env_id=s.env_id, id=s.id))
        return out

    def fit(self, segments: Sequence[Segment], pairs: np.ndarray, answers: Sequence[str],
            **options) -> FitReport:
        """Fit the heads on labelled pairs of text segments (see :meth:`RewardModel.fit`)."""
        return self.heads.fit(self._feature_segments(segments), pairs, answers, **options)

    def member_returns(self, segments: Sequence[Segment]) -> np.ndarray:
        """Each head's score of each text segment: ``(M, N)`` (drives disagreement queries)."""
        return self.heads.member_returns(self._feature_segments(segments))

    def segment_returns(self, segments: Sequence[Segment]) -> np.ndarray:
        """The ensemble's normalised score of each text segment: ``(N,)``."""
        return self.heads.segment_returns(self._feature_segments(segments))

    def agreement(self, left: Sequence[Segment], right: Sequence[Segment],
                  answers: Sequence[str]) -> float | None:
        """Share of strict answers on pairs ``(left[i], right[i])`` the model agrees with."""
        return self.heads.agreement(self._feature_segments(left),
                                    self._feature_segments(right), answers)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> np.ndarray:
        """The normalised reward of each completion of its prompt: ``(N,)`` (not cached)."""
        prompt_feats, completion_feats = self.encoder.features(prompts, completions)
        return self.heads.predict(prompt_feats, completion_feats)

    # ------------------------------------------------------------------ files
    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``encoder/``, ``heads/`` and the ``card.json`` vouching for both."""
        directory = Path(directory)
        self.encoder.model.save_pretrained(directory / "encoder")
        self.encoder.tokenizer.save_pretrained(directory / "encoder")
        self.heads.save(directory / "heads")
        write_json(directory / "card.json", {
            "format": FORMAT, "format_version": FORMAT_VERSION, "pooling": POOLING,
            "max_length": self.encoder.max_length, "heads": "heads",
            "encoder_sha256": _files_sha256(directory / "encoder")})
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str = "cpu") -> TextRewardModel:
        """Load a saved text reward model, checking its files against its card."""
        directory = Path(directory)
        where = f"text reward model {directory}"
        try:
            card = json.loads((directory / "card.json").read_text())
        except FileNotFoundError:
            raise ModelCardError(f"{where}: no card.json there") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ModelCardError(f"{where}: card.json is not valid JSON ({err})") from None
        check_format(f"{where}: card.json", card, FORMAT, FORMAT_VERSION, ModelCardError)
        if card.get("pooling") != POOLING:
            raise ModelCardError(f"{where}: pooled as {card.get('pooling')!r}, which this "
                                 "code does not compute")
        if _files_sha256(directory / "encoder") != card.get("encoder_sha256"):
            raise ModelCardError(f"{where}: encoder/ does not match its card (altered or "
                                 "incomplete files)")
        model = AutoModel.from_pretrained(directory / "encoder", local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(directory / "encoder", local_files_only=True)
        encoder = TextEncoder(model.to(device), tokenizer, max_length=card["max_length"])
        heads = RewardModel.load(directory / card["heads"], device=device)
        return cls(encoder, heads=heads)


def _files_sha256(directory: Path) -> str:
    """One sha256 over a directory's files (names and contents, in name order)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()
