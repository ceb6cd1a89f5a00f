"""Sampling several completions per prompt from a causal LM, reproducibly.

Each batch of prompts draws from its own torch generator state, seeded from the seed and
the batch's first prompt index, so the same seed gives the same completions whatever
else ran before (the process-wide RNG is left as it was).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from feedback.errors import check_count


class Generator:
    """Samples completions of prompts from ``model``.

    :param model: a causal LM (e.g. from :func:`agents.text.models.load_language_model`)
    :param tokenizer: its tokenizer, padding on the left
    :param max_new_tokens: the most tokens a completion has
    :param temperature: the sampling temperature
    :param batch_size: prompts per ``generate`` call
    :param seed: seeds the sampling
    """

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *,
                 max_new_tokens: int = 32, temperature: float = 1.0, batch_size: int = 16,
                 seed: int = 0) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens = check_count("max new tokens", max_new_tokens, 1)
        self.batch_size = check_count("generation batch size", batch_size, 1)
        self.temperature, self.seed = float(temperature), int(seed)

    def sample(self, prompts: Sequence[str], per_prompt: int, *,
               offset: int = 0) -> list[list[str]]:
        """``per_prompt`` completions of each prompt (``offset``: index of the first prompt)."""
        per_prompt = check_count("completions per prompt", per_prompt, 1)
        completions: list[list[str]] = []
        device = self.model.device
        for begin in range(0, len(prompts), self.batch_size):
            batch = list(prompts[begin:begin + self.batch_size])
            inputs = self.tokenizer(batch, return_tensors="pt", padding=True,
                                    add_special_tokens=False).to(device)
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed(int(np.random.SeedSequence([self.seed, offset + begin])
                                      .generate_state(1)[0]))
                with torch.no_grad():
                    out = self.model.generate(
                        **inputs, do_sample=True, temperature=self.temperature,
                        max_new_tokens=self.max_new_tokens, num_return_sequences=per_prompt,
                        pad_token_id=self.tokenizer.pad_token_id)
            texts = self.tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1]:],
                                                skip_special_tokens=True)
            completions += [texts[k:k + per_prompt] for k in range(0, len(texts), per_prompt)]
        return completions
