"""Child process of the work-queue tests: claims and answers a run's queries until none is free."""

import sys

from feedback.store import HUMAN, FeedbackStore

address, annotator, run_id = sys.argv[1:4]
answered = []
with FeedbackStore(address) as store:
    while (query := store.claim_query(annotator, run_id=run_id)) is not None:
        store.add_label(query.id, "left", annotator, annotator_kind=HUMAN)
        answered.append(query.id)
print(" ".join(map(str, answered)))
