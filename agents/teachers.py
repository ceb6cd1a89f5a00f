"""Who answers the loop's questions: the :class:`Teacher` protocol and its three kinds.

- :class:`SyntheticAnswers`: a synthetic teacher of :mod:`feedback.teachers` (oracle,
  B-Pref's noisy ones), instant;
- :class:`HumanTeacher` (``--teacher human``): a person at this machine, in the pygame
  viewer; training waits while they answer;
- :class:`PeopleTeacher` (``--teacher people``): a team answering the run's queries in
  their own sessions, from any machine, into a shared store; training never blocks on
  them (unless asked to wait for a few new answers, with a time-out);
- :class:`StoreTeacher` (``--teacher store``): nobody; the loop fits on the feedback
  already in the run's store (labels, ratings, demonstrations) and asks nothing new.
"""

from __future__ import annotations

import time
from typing import Protocol

from agents.config import HUMAN_TEACHER, PEOPLE_TEACHER, STORE_TEACHER
from feedback.store import SYNTHETIC, FeedbackStore, Query, check_annotator_name
from feedback.teachers import SyntheticTeacher, make_teacher
from feedback.ui.sessions import CompareSession
from feedback.ui.viewer import Viewer
from rlhf_envs.labeling import clip_renderer
from rlhf_envs.registration import clip_guide

UNLIMITED = 10**9  # a human session ends when the store has no query left to ask


class Teacher(Protocol):
    """Answers the store's pending queries; each answer is durable before the next."""

    name: str  # the annotator's name in the store
    asks: bool  # whether the loop should add new queries for this teacher

    def answer(self, store: FeedbackStore, pending: list[Query]) -> None:
        """Answer ``pending`` (all, or as many as the annotator will) into ``store``."""


class SyntheticAnswers:
    """A synthetic teacher that answers every pending query at once, from the true reward.

    :param teacher: the synthetic teacher (e.g. ``make_teacher("oracle", seed=0)``)
    """

    asks = True

    def __init__(self, teacher: SyntheticTeacher) -> None:
        self.teacher, self.name = teacher, teacher.name

    def answer(self, store: FeedbackStore, pending: list[Query]) -> None:
        """Answer every query of ``pending`` in one transaction."""
        ids = [i for q in pending for i in (q.left_id, q.right_id)]
        segments = dict(zip(ids, store.get_segments(ids)))
        answers = self.teacher.answer_segments([segments[q.left_id] for q in pending],
                                               [segments[q.right_id] for q in pending])
        store.add_labels(zip([q.id for q in pending], answers), self.name,
                         annotator_kind=SYNTHETIC)


class HumanTeacher:
    """A person at this machine, named ``annotator`` in the store.

    The viewer opens on the store's unanswered queries (a
    :class:`~feedback.ui.sessions.CompareSession` with no fresh segments) until every
    query is answered or the person quits. Answers are committed one by one, so a quit or
    a crash loses none: queries left unanswered are asked first at the next iteration, or
    after ``--resume``. A share of answered pairs comes back with sides swapped, which
    measures self-consistency.

    :param env_id: the env whose clips are shown
    :param annotator: the person's name, stored with each answer
    :param repeat_share: share of answers followed by an earlier pair, sides swapped
    :param fps: playback frames per second (default: the env's pace a person can follow)
    :param run_id: in a store shared with other runs, this run's id: only its queries are
        shown, claimed as a team's session claims them
    """

    asks = True

    def __init__(self, env_id: str, annotator: str, *, repeat_share: float = 0.1,
                 fps: float | None = None, run_id: str | None = None) -> None:
        self.env_id, self.name = env_id, check_annotator_name(annotator)
        self.repeat_share, self.fps, self.run_id = repeat_share, fps, run_id

    def answer(self, store: FeedbackStore, pending: list[Query]) -> None:
        """Show the store's unanswered queries until none is left or the person quits."""
        session = CompareSession(store, self.env_id, self.name, UNLIMITED,
                                 make_renderer=clip_renderer(self.env_id),
                                 repeat_share=self.repeat_share, run_id=self.run_id)
        try:
            Viewer(session, annotator=self.name, fps=self.fps, guide=clip_guide(self.env_id),
                   title=f"rlhf-envs: {self.env_id} (training waits)").run()
        finally:
            session.close()


class PeopleTeacher:
    """A team answering run ``run_id``'s queries in their own sessions; nobody answers here.

    The loop posts its queries and trains on; each refit uses every answer that has
    arrived, from anyone. With ``min_new_answers``, :meth:`answer` waits until that many
    new answers to the run's queries are in, or ``timeout`` seconds pass.

    :param run_id: the run's id in the shared store
    :param min_new_answers: new answers to wait for at each iteration (0: never wait)
    :param timeout: the longest wait, in seconds
    """

    name, asks = PEOPLE_TEACHER, True
    poll_seconds = 1.0

    def __init__(self, run_id: str, min_new_answers: int = 0, timeout: float = 600.0) -> None:
        self.run_id, self.min_new_answers, self.timeout = run_id, min_new_answers, timeout
        self._seen: int | None = None

    def answer(self, store: FeedbackStore, pending: list[Query]) -> None:
        """Wait (if asked to) for new answers; the people answer in their own sessions."""
        count = len(store.labels(self.run_id))
        seen = count if self._seen is None else self._seen
        wanted = min(self.min_new_answers, count - seen + len(pending))  # no more can come
        deadline = time.monotonic() + self.timeout
        while count - seen < wanted and time.monotonic() < deadline:
            time.sleep(self.poll_seconds)
            count = len(store.labels(self.run_id))
        self._seen = count


class StoreTeacher:
    """Nobody asks or answers: the loop fits on the feedback already in the store."""

    name, asks = STORE_TEACHER, False

    def answer(self, store: FeedbackStore, pending: list[Query]) -> None:
        """Nothing to do: no query is asked for this teacher."""


def make_loop_teacher(name: str, env_id: str, annotator: str, seed: int, *,
                      run_id: str = "", min_new_answers: int = 0,
                      timeout: float = 600.0) -> Teacher:
    """The teacher ``--teacher name`` means: human, people, store or a synthetic one."""
    if name == HUMAN_TEACHER:
        return HumanTeacher(env_id, annotator, run_id=run_id or None)
    if name == PEOPLE_TEACHER:
        return PeopleTeacher(run_id, min_new_answers, timeout)
    if name == STORE_TEACHER:
        return StoreTeacher()
    return SyntheticAnswers(make_teacher(name, seed=seed))
