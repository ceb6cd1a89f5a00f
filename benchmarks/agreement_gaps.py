"""Where a reward model disagrees with the oracle: agreement by how far apart a pair's
true returns are.

    python -m benchmarks.agreement_gaps RUN [RUN ...] [--fresh 400] [--bins 3]
        [--out benchmarks/results/agreement_gaps.json]

RUN is a finished ``agents.train`` run directory (its ``feedback.db`` and final
``reward_model``). Two sets of pairs, each scored by the final model against the true
returns (the oracle):

- held out: the labelled pairs the loop held out from fitting (:func:`heldout_mask`), as in
  ``reward_agreement_heldout`` but against the oracle rather than the teacher;
- fresh: consecutive pairs of the run's last ``--fresh`` policy segments that no label
  names, ties and skips included (mostly the last iteration's clips; none ever
  labelled), paired as the loop's ``reward_agreement_oracle`` pairs them.

Each set is split into ``--bins`` bins of equal size by the pair's true-return gap
(pairs that tie exactly are counted apart). A model that orders clear pairs right and
near-ties at chance has learned the task, and its overall agreement says more about how
close the pairs were than about the model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, machine
from benchmarks.label_noise import HELDOUT_FRACTION
from feedback.answers import LEFT, RIGHT
from feedback.files import write_json
from feedback.reward_model import RewardModel
from feedback.reward_model.evaluation import heldout_mask
from feedback.store import FeedbackStore

FRESH_SEGMENTS = 400
BINS = 3
TIE = 1e-9  # as agents.monitoring.oracle_agreement


def by_gap(learned: np.ndarray, true: np.ndarray, pairs: np.ndarray, bins: int) -> dict:
    """Agreement with the true returns over ``pairs`` (rows of two segment indices), in
    ``bins`` equal-count bins of the true-return gap; ties counted apart.

    :return: ``pairs``, ``ties``, ``agreement`` (over the pairs that do not tie) and
        ``bins``: each bin's gap range, pairs and agreement
    """
    gap = np.abs(true[pairs[:, 0]] - true[pairs[:, 1]])
    agree = (learned[pairs[:, 0]] > learned[pairs[:, 1]]) == (true[pairs[:, 0]] > true[pairs[:, 1]])
    strict = gap > TIE
    found = {"pairs": int(len(pairs)), "ties": int((~strict).sum()),
             "agreement": float(agree[strict].mean()) if strict.any() else None, "bins": []}
    order = np.argsort(gap[strict], kind="stable")
    for chunk in np.array_split(order, min(bins, len(order))) if len(order) else []:
        g = gap[strict][chunk]
        found["bins"].append({"gap_low": float(g.min()), "gap_high": float(g.max()),
                              "pairs": int(len(chunk)),
                              "agreement": float(agree[strict][chunk].mean())})
    return found


def agreement_gaps(run: Path, fresh: int = FRESH_SEGMENTS, bins: int = BINS) -> dict:
    """A run's held-out and fresh pairs, scored against the oracle by true-return gap."""
    with FeedbackStore(run / "feedback.db") as store:
        every = store.labels()
        labels = [lab for lab in every if lab.answer in (LEFT, RIGHT)]
        labelled = {i for lab in every for i in (lab.left_id, lab.right_id)}  # ties too
        sources = store.segment_sources()  # oldest first
        unlabelled = [i for i, source in sources.items()
                      if source == "policy" and i not in labelled][-fresh:]
        segments = store.get_segments(sorted(labelled) + unlabelled)
    index = {segment.id: k for k, segment in enumerate(segments)}
    learned = RewardModel.load(run / "reward_model").segment_returns(segments)
    true = np.array([segment.true_rewards.sum() for segment in segments])
    asked = np.array([[index[lab.left_id], index[lab.right_id]] for lab in labels],
                     dtype=np.int64).reshape(-1, 2)
    # The fit's split (each pair by its ids' hash); the fit also drops flagged labels and,
    # where every label falls held out, trains on them all: rare, and not in these grids.
    held = asked[heldout_mask(segments, asked, HELDOUT_FRACTION)] if len(asked) else asked
    new = np.array([index[i] for i in unlabelled[: len(unlabelled) // 2 * 2]],
                   dtype=np.int64).reshape(-1, 2)
    return {"heldout": by_gap(learned, true, held, bins),
            "fresh": by_gap(learned, true, new, bins)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--fresh", type=int, default=FRESH_SEGMENTS,
                   help=f"the last N unlabelled policy segments (default {FRESH_SEGMENTS})")
    p.add_argument("--bins", type=int, default=BINS, help=f"gap bins (default {BINS})")
    p.add_argument("--out", type=Path, default=RESULTS / "agreement_gaps.json")
    args = p.parse_args(argv)
    if args.fresh < 2 or args.bins < 1:
        p.error("--fresh needs at least 2 segments and --bins at least 1")
    report = {"fresh_segments": args.fresh, "runs": {}, "machine": machine()}
    print("| run | pairs of | pairs | exact ties | agreement (the rest) | "
          "by gap, smallest first: gap range, pairs, agreement |")
    print("|---|---|---|---|---|---|")
    for run in args.runs:
        if not (run / "feedback.db").is_file() or not (run / "reward_model").is_dir():
            p.error(f"{run}: not a finished run (it needs feedback.db and reward_model/)")
        report["runs"][run.name] = found = agreement_gaps(run, args.fresh, args.bins)
        for split, r in found.items():
            cells = "; ".join(f"{b['gap_low']:.3g}-{b['gap_high']:.3g}: {b['pairs']}, "
                              f"{b['agreement']:.2f}" for b in r["bins"])
            overall = "n/a" if r["agreement"] is None else f"{r['agreement']:.2f}"
            print(f"| {run.name} | {split} | {r['pairs']} | {r['ties']} | {overall} | {cells} |")
    write_json(args.out, report, indent=2)
    return report


if __name__ == "__main__":
    main()
