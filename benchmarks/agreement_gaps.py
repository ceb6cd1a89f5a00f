"""Where a reward model disagrees with the oracle: agreement by how far apart a pair's
true returns are.

    python -m benchmarks.agreement_gaps RUN [RUN ...] [--fresh 400] [--bins 3]
        [--neighbours 5] [--out benchmarks/results/agreement_gaps.json]

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

To tell the two apart, the fresh pairs are also scored at the held-out pairs' gaps: each
held-out pair stands for the mean agreement of the ``--neighbours`` fresh pairs whose gaps
are nearest its own. Where that matched figure reads like the held-out agreement, the
held-out pairs are hard for their gaps alone; where it reads higher, the loop's choice of
pairs finds ones that are hard beyond their gap.
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
NEIGHBOURS = 5
TIE = 1e-9  # as agents.monitoring.oracle_agreement


def by_gap(learned: np.ndarray, true: np.ndarray, pairs: np.ndarray, bins: int) -> dict:
    """Agreement with the true returns over ``pairs`` (rows of two segment indices), in
    ``bins`` equal-count bins of the true-return gap; ties counted apart.

    :return: ``pairs``, ``ties``, ``agreement`` (over the pairs that do not tie) and
        ``bins``: each bin's gap range, pairs and agreement
    """
    gap, agree = gaps_and_agreement(learned, true, pairs)
    found = {"pairs": int(len(pairs)), "ties": int(len(pairs) - len(gap)),
             "agreement": float(agree.mean()) if len(gap) else None, "bins": []}
    order = np.argsort(gap, kind="stable")
    for chunk in np.array_split(order, min(bins, len(order))) if len(order) else []:
        found["bins"].append({"gap_low": float(gap[chunk].min()),
                              "gap_high": float(gap[chunk].max()), "pairs": int(len(chunk)),
                              "agreement": float(agree[chunk].mean())})
    return found


def gaps_and_agreement(learned: np.ndarray, true: np.ndarray,
                       pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The true-return gap of each pair that does not tie, and whether the model orders it
    as the true returns do."""
    gap = np.abs(true[pairs[:, 0]] - true[pairs[:, 1]])
    agree = (learned[pairs[:, 0]] > learned[pairs[:, 1]]) == (true[pairs[:, 0]] > true[pairs[:, 1]])
    strict = gap > TIE
    return gap[strict], agree[strict]


def at_gaps(gap: np.ndarray, agree: np.ndarray, reference: np.ndarray,
            neighbours: int = NEIGHBOURS) -> dict:
    """Agreement over pairs of gaps ``gap`` reweighted to the gaps ``reference``: each
    reference gap takes the mean agreement of the ``neighbours`` pairs nearest it in gap.

    :return: ``agreement`` (None where either side is empty), ``pairs`` (the reference
        count), and the median reference gap beside the median gap of the pairs matched
        to it, which shows whether the matching found pairs as close
    """
    if not len(gap) or not len(reference):
        return {"agreement": None, "pairs": int(len(reference)), "neighbours": neighbours,
                "median_gap": None, "median_matched_gap": None}
    k = min(neighbours, len(gap))
    nearest = np.argsort(np.abs(gap[None, :] - reference[:, None]), axis=1, kind="stable")[:, :k]
    return {"agreement": float(agree[nearest].mean()), "pairs": int(len(reference)),
            "neighbours": k, "median_gap": float(np.median(reference)),
            "median_matched_gap": float(np.median(gap[nearest]))}


def agreement_gaps(run: Path, fresh: int = FRESH_SEGMENTS, bins: int = BINS,
                   neighbours: int = NEIGHBOURS) -> dict:
    """A run's held-out and fresh pairs, scored against the oracle by true-return gap, and
    the fresh pairs at the held-out pairs' gaps (:func:`at_gaps`)."""
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
    fresh_gap, fresh_agree = gaps_and_agreement(learned, true, new)
    return {"heldout": by_gap(learned, true, held, bins),
            "fresh": by_gap(learned, true, new, bins),
            "fresh_at_heldout_gaps": at_gaps(fresh_gap, fresh_agree,
                                             gaps_and_agreement(learned, true, held)[0],
                                             neighbours)}


def _shown(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--fresh", type=int, default=FRESH_SEGMENTS,
                   help=f"the last N unlabelled policy segments (default {FRESH_SEGMENTS})")
    p.add_argument("--bins", type=int, default=BINS, help=f"gap bins (default {BINS})")
    p.add_argument("--neighbours", type=int, default=NEIGHBOURS,
                   help="fresh pairs matched to each held-out pair by gap (default "
                        f"{NEIGHBOURS})")
    p.add_argument("--out", type=Path, default=RESULTS / "agreement_gaps.json")
    args = p.parse_args(argv)
    if args.fresh < 2 or args.bins < 1 or args.neighbours < 1:
        p.error("--fresh needs at least 2 segments, --bins and --neighbours at least 1")
    report = {"fresh_segments": args.fresh, "neighbours": args.neighbours, "runs": {},
              "machine": machine()}
    print("| run | pairs of | pairs | exact ties | agreement (the rest) | "
          "by gap, smallest first: gap range, pairs, agreement |")
    print("|---|---|---|---|---|---|")
    for run in args.runs:
        if not (run / "feedback.db").is_file() or not (run / "reward_model").is_dir():
            p.error(f"{run}: not a finished run (it needs feedback.db and reward_model/)")
        report["runs"][run.name] = found = agreement_gaps(run, args.fresh, args.bins,
                                                          args.neighbours)
        for split in ("heldout", "fresh"):
            r = found[split]
            cells = "; ".join(f"{b['gap_low']:.3g}-{b['gap_high']:.3g}: {b['pairs']}, "
                              f"{b['agreement']:.2f}" for b in r["bins"])
            print(f"| {run.name} | {split} | {r['pairs']} | {r['ties']} | "
                  f"{_shown(r['agreement'])} | {cells} |")
        m = found["fresh_at_heldout_gaps"]
        print(f"| {run.name} | fresh at held-out gaps | {m['pairs']} | | "
              f"{_shown(m['agreement'])} | median gap {_shown(m['median_gap'], '.3g')}, "
              f"matched {_shown(m['median_matched_gap'], '.3g')} |")
    write_json(args.out, report, indent=2)
    return report


if __name__ == "__main__":
    main()
