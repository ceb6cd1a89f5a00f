"""``python -m feedback.report STORE``: who gave the store's feedback, how fast, how well.

Per annotator: answers (skips, ties and pairs flagged as broken counted as such, with
the notes written on flagged pairs), median seconds per answer,
answers per hour of labeling, self-consistency on repeated pairs and agreement with
others on shared pairs (:func:`feedback.annotators.annotator_quality`), plus the leases
running now. Writes ``annotators.json``, ``annotators.md`` and ``annotators.png`` (answers
and agreement per annotator) to ``--out``::

    python -m feedback.report runs/rlhf/feedback.db --out runs/rlhf/annotators
    python -m feedback.report postgresql://team-db/feedback --run-id reacher-1 --out team
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from feedback.annotators import annotator_quality
from feedback.answers import EQUAL, SKIP
from feedback.cli import OneLineParser, run_cli
from feedback.errors import StoreError
from feedback.files import write_figure, write_json, write_text
from feedback.store import FeedbackStore, Label
from feedback.store.backend import is_postgres_address


def annotator_report(labels: list[Label], leases: list[tuple[int, str, float]]) -> dict:
    """Per annotator figures of ``labels`` (and the running ``leases``), by name."""
    quality = annotator_quality(labels)
    now, report = time.time(), {}
    for name in sorted({lab.annotator for lab in labels} | {who for _, who, _ in leases}):
        mine = [lab for lab in labels if lab.annotator == name]
        seconds = [lab.seconds for lab in mine]
        busy = sum(seconds)
        report[name] = {
            "kind": mine[0].annotator_kind if mine else None,
            "answers": len(mine),
            "skips": sum(lab.answer == SKIP for lab in mine),
            "ties": sum(lab.answer == EQUAL for lab in mine),
            "flagged": sum(lab.flagged for lab in mine),
            "notes": [lab.note for lab in mine if lab.note],
            "median_seconds": statistics.median(seconds) if seconds else None,
            "answers_per_hour": 3600 * len(mine) / busy if busy > 0 else None,
            "leases_running": sum(who == name and end > now for _, who, end in leases),
            **{k: v for k, v in quality.get(name, {}).items() if k != "labels"},
        }
    return report


def _cell(value: object) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


COLUMNS = ("kind", "answers", "skips", "ties", "flagged", "median_seconds",
           "answers_per_hour", "self_consistency", "repeats", "agreement_with_others", "shared",
           "leases_running")


def _markdown(where: str, report: dict) -> str:
    lines = [f"# Annotators of {where}", "", "| annotator | " + " | ".join(COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(_cell(row.get(c)) for c in COLUMNS) + " |"
              for name, row in report.items()]
    notes = [(name, note) for name, row in report.items() for note in row.get("notes", [])]
    if notes:
        lines += ["", "## Notes on flagged pairs", ""]
        lines += [f"- {name}: {note}" for name, note in notes]
    return "\n".join(lines) + "\n"


def _plot(path: Path, report: dict) -> None:
    from matplotlib.figure import Figure

    names = list(report)
    fig = Figure(figsize=(max(4.0, 1.2 * len(names) + 2), 5.5))
    answers, agreement = fig.subplots(2, 1, sharex=True)
    answers.bar(names, [report[n]["answers"] for n in names])
    answers.set_ylabel("answers")
    for key, offset in (("self_consistency", -0.2), ("agreement_with_others", 0.2)):
        values = [report[n].get(key) for n in names]
        agreement.bar([k + offset for k in range(len(names))],
                      [v if v is not None else 0.0 for v in values], width=0.4,
                      label=key.replace("_", " "))
    agreement.set_ylim(0, 1)
    agreement.set_ylabel("share")
    agreement.set_xticks(range(len(names)), names, rotation=30, ha="right")
    agreement.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    write_figure(fig, path)


def parser() -> OneLineParser:
    """The command line (bad input: one line, exit code 2)."""
    p = OneLineParser(prog="python -m feedback.report", description=__doc__.splitlines()[0])
    p.add_argument("store", help="a store file, postgresql://... or service=NAME")
    p.add_argument("--run-id", default=None, help="only the answers to this run's queries")
    p.add_argument("--out", type=Path, default=Path("annotators"),
                   help="where the report goes (default ./annotators)")
    return p


def report(args: argparse.Namespace) -> dict:
    """Write the report the arguments ask for; returns its figures."""
    if not is_postgres_address(args.store) and not Path(args.store).is_file():
        raise StoreError(f"{args.store}: no feedback store there")
    with FeedbackStore(args.store) as store:
        figures = annotator_report(store.labels(args.run_id), store.leases())
        where = store.address + (f", run {args.run_id}" if args.run_id else "")
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "annotators.json", figures)
    write_text(args.out / "annotators.md", _markdown(where, figures))
    if figures:
        _plot(args.out / "annotators.png", figures)
    print(_markdown(where, figures), end="")
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the command line; its exit code (2: bad input)."""
    args = parser().parse_args(argv)
    return run_cli(lambda: report(args) and None)


if __name__ == "__main__":
    sys.exit(main())
