"""Gradio's upload cache: copies of uploaded notes that must not outlive the notes.

Gradio keeps every uploaded file under its cache folder (``GRADIO_TEMP_DIR``)
and serves it at ``/gradio_api/file=…``. Once an upload is saved into the
data dir the copies are of no use, and after the note is deleted they would
still hand it out. So: the copies of an upload are removed when it has been
handled, every copy of a deleted note (found by content hash) is removed, and
the app's own cache folder is emptied when it starts.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove(path: Path, root: Path) -> None:
    path.unlink(missing_ok=True)
    parent = path.parent
    if parent != root and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()


def forget_uploads(paths: Iterable[Path], root: Path) -> int:
    """Remove handled uploads from the cache (only files inside ``root``).

    Returns:
        How many files were removed.
    """
    removed = 0
    root = root.resolve()
    for path in paths:
        resolved = path.resolve()
        if resolved.is_relative_to(root) and resolved.is_file():
            _remove(resolved, root)
            removed += 1
    return removed


def purge_copies(sha256: str, size: int, root: Path) -> int:
    """Remove every cached file with this content (a note that was deleted).

    Returns:
        How many files were removed.
    """
    removed = 0
    if not root.is_dir():
        return 0
    for path in list(root.rglob("*")):
        try:
            if path.is_file() and path.stat().st_size == size and _digest(path) == sha256:
                _remove(path, root)
                removed += 1
        except OSError:  # removed meanwhile
            continue
    if removed:
        logger.info("removed %d cached upload(s) of a deleted note", removed)
    return removed


def empty(root: Path) -> None:
    """Empty the app's own cache folder (at start: nothing in it is needed any more)."""
    if root.is_dir():
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
