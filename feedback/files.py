"""Durable writes: every file and directory the project writes goes through here.

A file is written under a temporary name, flushed to disk and renamed over the old one,
so a reader (or a crash) sees the old file or the new one, never half of either. A
directory (a checkpoint) is written whole beside the old one as ``<dir>.new`` and
swapped in by renames: ``<dir>`` -> ``<dir>.old``, ``<dir>.new`` -> ``<dir>``, then
``<dir>.old`` is removed, each step made durable. :func:`write_figure` writes a plot
that way. :func:`check_format` is the one check of a versioned file's format mark, and
:func:`read_json_lines` the one reader of JSON Lines files (labels, preference rows,
prompts): bad lines are one-line errors naming the line.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from feedback.errors import FeedbackError


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably; return the path."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    return move_into_place(tmp, path)


def move_into_place(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Flush a finished temporary file to disk and rename it over ``path``; return it.

    For writers that need a file name of their own (e.g. a video encoder).
    """
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and durably; return the path."""
    return write_bytes(path, text.encode("utf-8"))


def write_figure(fig: object, path: str | os.PathLike) -> Path:
    """Render a matplotlib figure to PNG and write it whole (an old plot is replaced at once)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    return write_bytes(path, png.getvalue())


def read_json_lines(path: str | os.PathLike, what: str) -> list[tuple[int, dict]]:
    """The JSON objects of a UTF-8 JSON Lines file and their line numbers.

    Blank lines are skipped; an unreadable file or a bad line is a one-line
    :class:`FeedbackError` naming it.

    :param path: the file
    :param what: what the file holds, for messages ("labels", "preference rows", ...)
    """
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except (OSError, UnicodeDecodeError) as err:
        raise FeedbackError(f"cannot read {what} from {path}: {err}") from None
    records = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            raise FeedbackError(f"{path}:{number}: not valid JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise FeedbackError(f"{path}:{number}: expected a JSON object")
        records.append((number, record))
    return records


def write_json(path: str | os.PathLike, obj: object, indent: int = 1) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically and durably; return the path."""
    return write_text(path, json.dumps(obj, indent=indent) + "\n")


def fsync_dir(path: str | os.PathLike) -> None:
    """Make the renames inside directory ``path`` durable (POSIX; a no-op elsewhere)."""
    if os.name == "posix":  # Windows cannot open directories
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def siblings(directory: Path) -> tuple[Path, Path]:
    """``(dir.new, dir.old)``: where a new version is written, and where the last waits."""
    return (directory.with_name(directory.name + ".new"),
            directory.with_name(directory.name + ".old"))


def find_complete(directory: Path, marker: str) -> Path | None:
    """The version to read: ``dir``, else a complete ``dir.new``, else ``dir.old``.

    A directory is complete once its ``marker`` file is there (it is written last).
    """
    return next((d for d in (directory, *siblings(directory)) if (d / marker).is_file()),
                None)


def swap_in(directory: Path) -> None:
    """Replace ``directory`` by its complete ``dir.new``, each rename made durable."""
    new, old = siblings(directory)
    fsync_dir(new)
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(new, directory)
    fsync_dir(directory.parent)
    shutil.rmtree(old, ignore_errors=True)


def check_format(
    where: str,
    record: Mapping,
    name: str,
    version: int,
    error: type[FeedbackError] = FeedbackError,
) -> None:
    """Raise ``error`` unless ``record`` is marked as format ``name``, version <= ``version``.

    :param where: what the record is, for the message (e.g. the file's path)
    :param record: the parsed JSON header of the file
    :param name: the format name the file must carry under ``"format"``
    :param version: the newest ``"format_version"`` this code reads
    :param error: the error class to raise
    """
    if not isinstance(record, Mapping) or record.get("format") != name:
        raise error(f"{where} is not in the {name} format")
    found = record.get("format_version")
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise error(f"{where} has no valid format version")
    if found > version:
        raise error(f"{where} has format version {found}; this rlhf-envs reads up to "
                    f"{version} (upgrade rlhf-envs)")
