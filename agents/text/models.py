"""Loading Hugging Face causal language models, offline, and a tiny one built from a config.

Nothing is downloaded unless asked for: a model is a local directory or a name already in
the Hugging Face cache (``local_files_only``). :func:`make_tiny_gpt2` writes a small random
GPT-2 with a byte-level ``ByT5Tokenizer`` (which needs no vocabulary files), for tests,
the quick demo and benchmarks.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    ByT5Tokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from feedback.errors import FeedbackError


def load_language_model(
    name_or_path: str | os.PathLike, device: str = "cpu", *, download: bool = False
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A causal LM and its tokenizer (left padding, a pad token), in eval mode on ``device``.

    :param name_or_path: a model directory, or a model name in the local cache
    :param device: where the model runs
    :param download: fetch a name that is not in the cache from the Hugging Face Hub
    """
    where = str(name_or_path)
    path = Path(where)
    if path.exists() and not path.is_dir():
        raise FeedbackError(f"model {where} is a file, not a model directory")
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=not download)
        model = AutoModelForCausalLM.from_pretrained(where, local_files_only=not download)
    except (OSError, ValueError) as err:
        if not path.exists() and not download:
            raise FeedbackError(f"model {where}: no such directory, nor a model name in the "
                                "local Hugging Face cache (nothing is downloaded without "
                                "--download)") from None
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FeedbackError(f"model {where}: cannot load it ({detail})") from None
    tokenizer.padding_side = "left"  # decoder-only models generate after the prompt
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device).eval(), tokenizer


def make_tiny_gpt2(directory: str | os.PathLike, *, seed: int = 0, width: int = 256,
                   layers: int = 2, heads: int = 4, positions: int = 512) -> Path:
    """Write a random GPT-2 of ``layers`` x ``width`` with a ByT5 tokenizer to ``directory``."""
    tokenizer = ByT5Tokenizer()
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=positions, n_embd=width,
                        n_layer=layers, n_head=heads, bos_token_id=tokenizer.eos_token_id,
                        eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(config)
    directory = Path(directory)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
