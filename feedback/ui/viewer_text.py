"""The words of a labeling session: key help, status line, flashes and the end summary.

One place for them, free of pygame: the pygame viewer, the notebook widget and the
``compare`` command's closing lines all say the same thing about the same counts.
"""

from __future__ import annotations

from feedback.answers import EQUAL, LEFT, RIGHT, SKIP
from feedback.ui.pairs import Tally

KEY_HELP = ("Left / A: A better   Right / D: B better   Down / =: equal   S: skip   "
            "F: flag a broken pair   N: note   U: undo   P: pause   , / .: frame back / on   "
            "Space: replay   + / -: speed   click the timeline: seek   Q / Esc: quit")
RATE_HELP = ("1-5: rate (5 = best)   S: skip   F: flag a broken clip   N: note   U: undo   "
             "P: pause   , / .: frame back / on   Space: replay   + / -: speed   Q / Esc: quit")
BUTTONS = {"equal": "Equal (Down)", "skip": "Skip (S)", "flag": "Flag (F)", "undo": "Undo (U)"}
_SAID = {LEFT: "A is better", RIGHT: "B is better", EQUAL: "equal", SKIP: "skipped"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def counts(tally: Tally, noun: str = "answer") -> str:
    """``"12 answers, 2 skips, 1 flagged, 1 undone"`` (zero skips/flags/undos left out)."""
    parts = [_plural(tally.answers, noun)]
    if tally.skips:
        parts.append(_plural(tally.skips, "skip"))
    if tally.flagged:
        parts.append(f"{tally.flagged} flagged")
    if tally.undone:
        parts.append(f"{tally.undone} undone")
    return ", ".join(parts)


def store_line(tally: Tally, annotator: str, noun: str = "answer") -> str:
    """What the store holds of the annotator, and what it still waits for."""
    parts = []
    if tally.in_store is not None:
        parts.append(f"in this store: {_plural(tally.in_store, noun)} by {annotator}")
    if tally.waiting is not None:
        parts.append(f"{tally.waiting} unanswered {'pair' if tally.waiting == 1 else 'pairs'}"
                     " waiting")
    return ", ".join(parts)


def status_line(annotator: str, tally: Tally, seconds: float, speed: float,
                fps: float) -> str:
    """The line under the window: this session, the store, the pace, the playback."""
    rate = 60 * tally.answers / max(seconds, 1e-9)
    where = store_line(tally, annotator)
    return (f"{annotator}: {counts(tally)} ({tally.answers} of {tally.planned} planned)"
            + (f"   {where}" if where else "")
            + f"   {rate:.1f} answers/min   playback {fps * speed:g} frames/s")


def flash_of(answer: str, flagged: bool = False, note: str = "") -> str:
    """The flash confirming an answer: what was stored."""
    said = _SAID.get(answer, f"rated {answer}")
    extra = (" (flagged as broken)" if flagged else "") + (" with your note" if note else "")
    return f"Stored: {said}{extra}"


def summary_lines(tally: Tally, seconds: float, annotator: str = "",
                  noun: str = "answer") -> list[str]:
    """The end of a session in a few lines: counts, time, pace, self-consistency, store.

    ``noun`` names what was given ("answer", or "demonstration" in demo mode).
    """
    minutes = seconds / 60
    rate = tally.answers / minutes if minutes > 0 else 0.0
    lines = [f"{counts(tally, noun)} in {minutes:.1f} min ({rate:.1f} {noun}s/min); "
             f"{tally.answers} of {tally.planned} planned"]
    if tally.self_consistency is not None:
        lines.append(f"self-consistency {tally.self_consistency:.0%} over "
                     f"{_plural(tally.repeats, 'repeated pair')}")
    where = store_line(tally, annotator or "you", noun)
    if where:
        lines.append(where)
    return lines
