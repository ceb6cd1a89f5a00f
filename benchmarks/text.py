"""Text adapter speed on the CPU with the tiny GPT-2 (agents.text, the text extra).

Measures, in one process with one torch thread:

- completions generated per second (32 new tokens each, 4 per prompt, batches of 16);
- pairs labelled per second: pair selection, the oracle's answers and the store's
  commit of queries and labels (``synchronous=FULL``);
- the reward model's fit on 300 labelled pairs: encoding the completions (once per
  text, then cached) and fitting the heads (100 epochs), each timed.

    python -m benchmarks.text            # writes benchmarks/results/text.json
    python -m benchmarks.text --quick    # fewer prompts, for CI
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import RESULTS, machine
from feedback.files import write_json


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS / "text.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from agents.text.generation import Generator
    from agents.text.loop import generate_segments
    from agents.text.models import load_language_model, make_tiny_gpt2
    from agents.text.reward_model import TextEncoder, TextRewardModel
    from agents.text.tasks import TextTask
    from feedback.queries import select_pairs
    from feedback.store import FeedbackStore
    from feedback.teachers import make_teacher

    prompts = [f"Tell me about topic {k}" for k in range(40 if args.quick else 160)]
    labels = 60 if args.quick else 300
    with tempfile.TemporaryDirectory() as tmp:
        lm, tokenizer = load_language_model(make_tiny_gpt2(Path(tmp) / "tiny"))
        task = TextTask("bench", prompts, "count:aeiou")
        start = time.perf_counter()
        segments = generate_segments(Generator(lm, tokenizer, seed=0), task, 4)
        generation = time.perf_counter() - start

        rng, teacher = np.random.default_rng(0), make_teacher("oracle", seed=0)
        with FeedbackStore(Path(tmp) / "feedback.db") as store:
            store.add_segments(segments)
            start = time.perf_counter()
            pairs = select_pairs(segments, labels, rng, strategy="uniform",
                                 groups=[s.episode for s in segments])
            left, right = [segments[i] for i in pairs[:, 0]], [segments[j] for j in pairs[:, 1]]
            answers = teacher.answer_segments(left, right)
            ids = store.add_queries([(a.id, b.id) for a, b in zip(left, right)])
            store.add_labels(zip(ids, answers), "oracle")
            labelling = time.perf_counter() - start

        model = TextRewardModel(TextEncoder(lm.base_model, tokenizer), task="bench")
        used = sorted(set(pairs.ravel().tolist()))
        start = time.perf_counter()
        model.member_returns([segments[i] for i in used])  # encodes and caches the texts
        encoding = time.perf_counter() - start
        report = model.fit(segments, pairs, answers, epochs=100)
    result = {
        "prompts": len(prompts), "completions": len(prompts) * 4, "new_tokens": 32,
        "completions_per_second": len(prompts) * 4 / generation,
        "pairs": len(pairs), "pairs_labelled_per_second": len(pairs) / labelling,
        "encoded_texts": len(used), "encoding_seconds": encoding,
        "fit_seconds": report.seconds, "fit_epochs": 100,
        "heldout_agreement": report.heldout_agreement, "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    write_json(args.out, result)
    print(f"{result['completions_per_second']:.0f} completions/s, "
          f"{result['pairs_labelled_per_second']:.0f} pairs labelled/s, "
          f"fit of {len(pairs)} pairs: encoding {encoding:.2f} s + heads {report.seconds:.2f} s")
    return result


if __name__ == "__main__":
    main()
