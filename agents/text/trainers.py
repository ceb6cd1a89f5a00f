"""TRL's trainers on this project's feedback: RewardTrainer, DPOTrainer and GRPOTrainer.

- :func:`train_trl_reward_model`: a sequence-classification reward model (one logit) on
  preference rows, with TRL's ``RewardTrainer``;
- :func:`train_dpo`: a policy on preference rows with ``DPOTrainer``;
- :func:`reward_function`: our :class:`~agents.text.reward_model.TextRewardModel` as a
  ``reward_funcs`` callable, and :func:`train_grpo` running ``GRPOTrainer`` with it.

Each trains for ``steps`` optimizer steps and saves what it trained (safetensors) to
``out``. Logging to outside services is off (``report_to=[]``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from agents.text.reward_model import TextRewardModel
from agents.text.rows import rows_dataset
from feedback.errors import check_count

RewardFunction = Callable[..., list[float]]


def _arguments(out: str | os.PathLike, steps: int, batch_size: int, device: str) -> dict:
    return dict(output_dir=str(out), max_steps=check_count("steps", steps, 1),
                per_device_train_batch_size=check_count("batch size", batch_size, 1),
                report_to=[], save_strategy="no", logging_steps=1, disable_tqdm=True,
                use_cpu=device == "cpu")


def _finish(trainer, out: str | os.PathLike) -> float:
    loss = float(trainer.train().training_loss)
    trainer.save_model(str(out))
    return loss


def train_trl_reward_model(rows: Sequence[dict[str, str]], model: str | os.PathLike,
                           out: str | os.PathLike, *, steps: int = 10, batch_size: int = 8,
                           device: str = "cpu") -> float:
    """Train a one-logit classifier from ``model`` on rows with ``RewardTrainer``; its loss."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True)
    classifier = AutoModelForSequenceClassification.from_pretrained(
        model, num_labels=1, local_files_only=True)
    classifier.config.pad_token_id = tokenizer.pad_token_id
    trainer = RewardTrainer(model=classifier, processing_class=tokenizer,
                            args=RewardConfig(**_arguments(out, steps, batch_size, device)),
                            train_dataset=rows_dataset(rows))
    return _finish(trainer, out)


def train_dpo(rows: Sequence[dict[str, str]], model: str | os.PathLike,
              out: str | os.PathLike, *, steps: int = 10, batch_size: int = 8,
              device: str = "cpu") -> float:
    """Train the causal LM ``model`` on rows with ``DPOTrainer``; its loss."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True)
    policy = AutoModelForCausalLM.from_pretrained(model, local_files_only=True)
    trainer = DPOTrainer(model=policy, processing_class=tokenizer,
                         args=DPOConfig(**_arguments(out, steps, batch_size, device)),
                         train_dataset=rows_dataset(rows))
    return _finish(trainer, out)


def reward_function(model: TextRewardModel) -> RewardFunction:
    """``model`` as a TRL ``reward_funcs`` callable: ``f(prompts, completions, **kw)``.

    Completions may be strings or conversational (lists of ``{"content": ...}`` messages);
    the score is the model's normalised reward.
    """
    def rlhf_envs_reward(prompts: Sequence, completions: Sequence, **_) -> list[float]:
        return [float(x) for x in model.score([_text(p) for p in prompts],
                                              [_text(c) for c in completions])]

    return rlhf_envs_reward


def _text(item) -> str:
    if isinstance(item, str):
        return item
    return "".join(message["content"] for message in item)  # conversational format


def train_grpo(prompts: Sequence[str], model: str | os.PathLike,
               reward_funcs: Sequence[RewardFunction], out: str | os.PathLike, *,
               steps: int = 10, generations: int = 4, max_completion_length: int = 32,
               device: str = "cpu") -> float:
    """Train the causal LM ``model`` with ``GRPOTrainer`` on ``reward_funcs``; its loss."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True)
    tokenizer.padding_side = "left"
    policy = AutoModelForCausalLM.from_pretrained(model, local_files_only=True)
    generations = check_count("generations", generations, 2)
    args = GRPOConfig(**_arguments(out, steps, generations, device),
                      num_generations=generations,
                      max_completion_length=check_count("completion length",
                                                        max_completion_length, 1))
    trainer = GRPOTrainer(model=policy, reward_funcs=list(reward_funcs), args=args,
                          processing_class=tokenizer,
                          train_dataset=Dataset.from_dict({"prompt": list(prompts)}))
    return _finish(trainer, Path(out))
