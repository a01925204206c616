"""Atomic file output for reports and charts: a reader never sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

__all__ = ["FORMATS", "format_for_path", "write_atomic", "write_report"]

#: Report formats and the file suffixes that select them.
FORMATS: dict[str, tuple[str, ...]] = {
    "html": (".html", ".htm"),
    "md": (".md", ".markdown"),
    "json": (".json",),
    "text": (".txt", ".text"),
}

ReportFormat = Literal["html", "md", "json", "text"]


def format_for_path(path: str | os.PathLike[str]) -> ReportFormat | None:
    """The report format a file name asks for (``None`` for an unknown suffix).

    Examples
    --------
    >>> format_for_path("out/report.HTML"), format_for_path("k.md"), format_for_path("x.pdf")
    ('html', 'md', None)
    """
    suffix = Path(path).suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name  # type: ignore[return-value]
    return None


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    The rename is atomic on POSIX and Windows, so the file is either the old one or the new
    one, never a mix. Text is written as UTF-8 with ``\\n`` line ends.

    Raises
    ------
    OSError
        When the folder does not exist or is not writable, or the disk is full (the
        temporary file is removed); its ``filename`` is ``path``, so the message starts with
        the file name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "r.txt"
    >>> write_atomic(target, "hello\\n").read_text()
    'hello\\n'
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # ENOSPC, EIO...: name the file, not the temporary one
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    return path


def write_report(text: str, path: str | os.PathLike[str]) -> Path:
    """Write a rendered report (a string from one of the ``render_*`` functions) atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "report.md"
    >>> write_report("# Report\\n", target).name
    'report.md'
    """
    return write_atomic(path, text)
