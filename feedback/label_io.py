"""Reading labels exported as JSON Lines, checked line by line before anything is stored."""

from __future__ import annotations

import json
import os

from feedback.errors import FeedbackError
from feedback.teachers import ANSWERS

FIELDS = {
    "left": str, "right": str, "answer": str, "annotator": str, "annotator_kind": str,
    "seconds": (int, float), "created": (int, float), "kind": str,
}


def read_label_lines(path: str | os.PathLike) -> list[tuple[int, dict]]:
    """Parse and check every line; return ``(line number, record)`` pairs.

    Raises :class:`FeedbackError` naming the first bad line, so nothing half-imports.
    """
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except (OSError, UnicodeDecodeError) as err:
        raise FeedbackError(f"cannot read labels from {path}: {err}") from None
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            raise FeedbackError(f"{path}:{number}: not valid JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise FeedbackError(f"{path}:{number}: expected a JSON object")
        for field, kind in FIELDS.items():
            if not isinstance(record.get(field), kind) or isinstance(record.get(field), bool):
                raise FeedbackError(f"{path}:{number}: missing or bad field {field!r}")
        if record["answer"] not in ANSWERS:
            raise FeedbackError(f"{path}:{number}: unknown answer {record['answer']!r}")
        records.append((number, record))
    return records
