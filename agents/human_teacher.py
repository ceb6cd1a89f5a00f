"""``--teacher human``: the loop's questions answered by a person in the pygame viewer.

At each iteration the loop chooses its pairs as for a synthetic teacher and stores them
as queries; then the viewer opens on them (:class:`~rlhf_envs.labeling_sessions.
CompareSession`, no fresh clips) until every query is answered or the person quits.
Answers are committed one by one, so a quit or a crash loses none: queries left
unanswered are asked first at the next iteration, or after ``--resume``. A share of
answered pairs comes back with sides swapped, which measures self-consistency.
"""

from __future__ import annotations

from feedback.store import FeedbackStore, check_annotator_name
from feedback.viewer import Viewer
from rlhf_envs.labeling_sessions import CompareSession

UNLIMITED = 10**9  # a session ends when the store has no query left to ask


class HumanTeacher:
    """A person at this machine, named ``annotator`` in the store."""

    def __init__(self, env_id: str, annotator: str, *, repeat_share: float = 0.1,
                 fps: int = 30) -> None:
        self.env_id, self.name = env_id, check_annotator_name(annotator)
        self.repeat_share, self.fps = repeat_share, fps

    def label_pending(self, store: FeedbackStore) -> int:
        """Show the store's unanswered queries until none is left or the person quits;
        returns the answers given."""
        session = CompareSession(store, self.env_id, self.name, UNLIMITED,
                                 repeat_share=self.repeat_share)
        try:
            return Viewer(session, annotator=self.name, fps=self.fps,
                          title=f"rlhf-envs: {self.env_id} (training waits)").run()
        finally:
            session.close()
