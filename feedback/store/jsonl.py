"""Labels as JSON Lines: written atomically, checked line by line before anything is stored.

Exports of stores before schema version 3 call synthetic annotators ``teacher``; they
are read as ``synthetic``. ``flagged`` and ``note`` (schema version 5) are optional: older
exports have neither (not flagged, no note).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from feedback.answers import ANSWERS
from feedback.errors import FeedbackError
from feedback.files import read_json_lines, write_text
from feedback.store.records import (
    SYNTHETIC,
    Label,
    check_annotator_kind,
    check_note,
    check_seconds,
)

LEGACY_KINDS = {"teacher": SYNTHETIC}  # the kind's name before schema version 3

FIELDS = {
    "left": str, "right": str, "answer": str, "annotator": str, "annotator_kind": str,
    "seconds": (int, float), "created": (int, float), "kind": str,
}


def read_label_lines(path: str | os.PathLike) -> list[tuple[int, dict]]:
    """Parse and check every line; return ``(line number, record)`` pairs.

    Raises :class:`FeedbackError` naming the first bad line, so nothing half-imports.
    """
    records = []
    for number, record in read_json_lines(path, "labels"):
        for field, kind in FIELDS.items():
            if not isinstance(record.get(field), kind) or isinstance(record.get(field), bool):
                raise FeedbackError(f"{path}:{number}: missing or bad field {field!r}")
        if record["answer"] not in ANSWERS:
            raise FeedbackError(f"{path}:{number}: unknown answer {record['answer']!r}")
        kind = LEGACY_KINDS.get(record["annotator_kind"], record["annotator_kind"])
        try:
            record["annotator_kind"] = check_annotator_kind(kind)
            record["seconds"] = check_seconds(record["seconds"])
            record["note"] = check_note(record.get("note", ""))
            if not isinstance(record.setdefault("flagged", False), bool):
                raise FeedbackError("'flagged' is true or false")
        except FeedbackError as err:
            raise FeedbackError(f"{path}:{number}: {err}") from None
        records.append((number, record))
    return records


def write_label_lines(path: str | os.PathLike, labels: Sequence[Label]) -> int:
    """Write ``labels`` to ``path``, one JSON object per line, atomically; return the count."""
    write_text(path, "".join(json.dumps({
        "left": lab.left_id, "right": lab.right_id, "answer": lab.answer,
        "annotator": lab.annotator, "annotator_kind": lab.annotator_kind,
        "seconds": lab.seconds, "created": lab.created, "kind": lab.kind,
        "flagged": lab.flagged, "note": lab.note,
    }) + "\n" for lab in labels))
    return len(labels)
