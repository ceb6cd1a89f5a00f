"""The feedback store: segments, queries, labels, ratings and demonstrations, durable.

``FeedbackStore(path)`` opens (or creates) one SQLite file; see :mod:`.store` for the
API, :mod:`.schema` for the versions, :mod:`.sqlite` for how a file is opened safely and
:mod:`.jsonl` for moving labels as JSON Lines.
"""

from feedback.store.records import (
    ANNOTATOR_KINDS,
    HUMAN,
    SYNTHETIC,
    Demonstration,
    Label,
    Query,
    Rating,
    check_annotator_name,
    encode_segment,
)
from feedback.store.store import FeedbackStore

__all__ = [
    "ANNOTATOR_KINDS",
    "HUMAN",
    "SYNTHETIC",
    "Demonstration",
    "FeedbackStore",
    "Label",
    "Query",
    "Rating",
    "check_annotator_name",
    "encode_segment",
]
