"""TRL's explicit-prompt preference rows, to and from a feedback store.

A row is ``{"prompt": ..., "chosen": ..., "rejected": ...}``, the format TRL's
``RewardTrainer`` and ``DPOTrainer`` read (as JSON Lines or a ``datasets.Dataset``).
Each strict answer (left or right) to a text query is one row; several answers to one
query (repeats, several people) are several rows, as votes. Skips carry no preference
and are left out. Ties (``equal``) are left out by default; ``ties="both"`` keeps each
as two rows, one per order: under the Bradley-Terry loss the two rows together pull
the pair's probability to 0.5, which is what an ``equal`` target means.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from feedback.answers import EQUAL, LEFT, RIGHT
from feedback.errors import FeedbackError
from feedback.files import read_json_lines, write_text
from feedback.store import HUMAN, FeedbackStore
from feedback.text import is_text, segment_text, text_segment

TIES = ("drop", "both")
COLUMNS = ("prompt", "chosen", "rejected")


def preference_rows(store: FeedbackStore, *, ties: str = "drop") -> list[dict[str, str]]:
    """The store's text answers as TRL preference rows, oldest first."""
    if ties not in TIES:
        raise FeedbackError(f"ties must be one of {', '.join(TIES)}, not {ties!r}")
    labels = [label for label in store.labels() if label.kind == "compare"]
    ids = sorted({i for label in labels for i in (label.left_id, label.right_id)})
    texts = {s.id: segment_text(s) for s in store.get_segments(ids) if is_text(s)}
    rows = []
    for label in labels:
        if label.left_id not in texts or label.right_id not in texts:
            continue
        (prompt, left), (_, right) = texts[label.left_id], texts[label.right_id]
        if label.answer == LEFT:
            rows.append({"prompt": prompt, "chosen": left, "rejected": right})
        elif label.answer == RIGHT:
            rows.append({"prompt": prompt, "chosen": right, "rejected": left})
        elif label.answer == EQUAL and ties == "both":
            rows += [{"prompt": prompt, "chosen": left, "rejected": right},
                     {"prompt": prompt, "chosen": right, "rejected": left}]
    return rows


def write_rows(path: str | os.PathLike, rows: Iterable[dict[str, str]]) -> Path:
    """Write rows as JSON Lines, atomically."""
    return write_text(path, "".join(json.dumps({k: row[k] for k in COLUMNS},
                                               ensure_ascii=False) + "\n" for row in rows))


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a JSON Lines file of ``prompt``/``chosen``/``rejected`` strings."""
    rows = []
    for number, row in read_json_lines(path, "preference rows"):
        if not all(isinstance(row.get(k), str) for k in COLUMNS):
            raise FeedbackError(f"{path}:{number}: needs string fields {', '.join(COLUMNS)}")
        rows.append({k: row[k] for k in COLUMNS})
    return rows


def rows_dataset(rows: Sequence[dict[str, str]]):
    """The rows as a ``datasets.Dataset`` (what TRL's trainers take)."""
    from datasets import Dataset

    return Dataset.from_dict({k: [row[k] for row in rows] for k in COLUMNS})


def import_rows(store: FeedbackStore, rows: Iterable[dict[str, str]], *, task: str,
                annotator: str, annotator_kind: str = HUMAN) -> int:
    """Add rows to a store as text segments, queries and ``left`` answers; returns how many.

    The hidden score of imported text is unknown (NaN). Segments are keyed by their text,
    so importing the same rows twice adds their answers twice but no new segments.
    """
    segments, pairs = [], []
    for row in rows:
        chosen, rejected = (text_segment(row["prompt"], row[k], float("nan"), task=task,
                                         source="imported") for k in ("chosen", "rejected"))
        if chosen.id == rejected.id:
            raise FeedbackError(f"a row's chosen and rejected texts are the same: "
                                f"{row['chosen'][:40]!r}")
        segments += [chosen, rejected]
        pairs.append((chosen.id, rejected.id))
    store.add_segments(segments)  # all checked before anything is written
    query_ids = store.add_queries(pairs, strategy="imported")
    store.add_labels([(q, LEFT) for q in query_ids], annotator, annotator_kind=annotator_kind)
    return len(pairs)
