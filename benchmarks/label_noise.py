"""What a noisy teacher's labels do to the reward model: a run's labelled pairs, held-out
and trained on, scored against the teacher and against the oracle.

    python -m benchmarks.label_noise RUN [RUN ...] [--out benchmarks/results/label_noise.json]

RUN is an ``agents.train`` run directory (its ``feedback.db`` and final ``reward_model``).
The held-out pairs are the ones the loop held out (:func:`heldout_mask`, same fraction), so
"agreement with the teacher" here is the run's ``reward_agreement_heldout``. Beside it: how
often the teacher contradicts the oracle (the true return) on the same pairs, and how often
the model agrees with the oracle there. A model that agrees with the teacher on every
trained pair has learned the teacher's mistakes as well.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, machine
from feedback.answers import LEFT, RIGHT
from feedback.files import write_json
from feedback.reward_model import RewardModel
from feedback.reward_model.evaluation import heldout_mask
from feedback.store import FeedbackStore

HELDOUT_FRACTION = 0.1  # RewardModel.fit's default, which the loop uses


def label_noise(run: Path, heldout_fraction: float = HELDOUT_FRACTION) -> dict:
    """Per split (held-out, trained): pairs, teacher-vs-oracle disagreement, and the
    final model's agreement with the teacher and with the oracle, on strict answers."""
    with FeedbackStore(run / "feedback.db") as store:
        labels = [lab for lab in store.labels() if lab.answer in (LEFT, RIGHT)]
        ids = sorted({i for lab in labels for i in (lab.left_id, lab.right_id)})
        segments = store.get_segments(ids)
    index = {segment.id: k for k, segment in enumerate(segments)}
    pairs = np.array([[index[lab.left_id], index[lab.right_id]] for lab in labels])
    predicted = RewardModel.load(run / "reward_model").segment_returns(segments)
    true = np.array([segment.true_rewards.sum() for segment in segments])
    teacher = np.array([lab.answer == LEFT for lab in labels])
    oracle = true[pairs[:, 0]] > true[pairs[:, 1]]
    model = predicted[pairs[:, 0]] > predicted[pairs[:, 1]]
    held = heldout_mask(segments, pairs, heldout_fraction)
    return {split: {"pairs": int(rows.sum()),
                    "teacher_contradicts_oracle": float((teacher != oracle)[rows].mean()),
                    "model_agrees_with_teacher": float((model == teacher)[rows].mean()),
                    "model_agrees_with_oracle": float((model == oracle)[rows].mean())}
            for split, rows in (("heldout", held), ("trained", ~held)) if rows.any()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=RESULTS / "label_noise.json")
    args = p.parse_args(argv)
    report = {"runs": {}, "machine": machine()}
    print("| run | split | pairs | teacher contradicts oracle | model agrees: teacher | oracle |")
    print("|---|---|---|---|---|---|")
    for run in args.runs:
        if not (run / "feedback.db").is_file() or not (run / "reward_model").is_dir():
            p.error(f"{run}: not a finished run (it needs feedback.db and reward_model/)")
        report["runs"][run.name] = found = label_noise(run)
        for split, r in found.items():
            shares = (r["teacher_contradicts_oracle"], r["model_agrees_with_teacher"],
                      r["model_agrees_with_oracle"])
            print(f"| {run.name} | {split} | {r['pairs']} | "
                  + " | ".join(f"{v:.2f}" for v in shares) + " |")
    write_json(args.out, report, indent=2)
    return report


if __name__ == "__main__":
    main()
