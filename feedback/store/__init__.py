"""The feedback store: segments, queries, labels, ratings and demonstrations, durable.

``FeedbackStore(address)`` opens (or creates) one SQLite file, or for a team a PostgreSQL
database (``postgresql://...`` or ``service=NAME``); see :mod:`.store` for the API,
:mod:`.schema` for the versions, :mod:`.backend` for what a backend does, :mod:`.sqlite`
and :mod:`.postgres` for how each opens a store safely, and :mod:`.jsonl` for moving
labels as JSON Lines.
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
