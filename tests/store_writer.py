"""Child process for the SIGKILL test: label every pending query, one commit each.

Prints each label id after ``add_label`` returns, so the parent knows it was acknowledged.
"""

import sys

from feedback.store import FeedbackStore

store = FeedbackStore(sys.argv[1])
for query in store.pending_queries():
    label_id = store.add_label(query.id, "left", "writer")
    print(label_id, flush=True)
