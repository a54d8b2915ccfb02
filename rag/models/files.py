"""Small file helpers for model assets: exclusive locks, hashes, durable renames."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

_CHUNK = 4 * 1024 * 1024


def file_sha256(path: Path) -> str:
    """Compute the sha256 of a file by streaming it.

    Args:
        path: The file.

    Returns:
        Lower-case hex digest.
    """
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with Path(path).open("rb") as src:
        while n := src.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl.flock`` on ``lock_path`` for the block."""
    import fcntl

    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another process to finish with %s", lock_path)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (after a rename into it) to disk, where the OS allows."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def unlink(path: Path) -> None:
    """Delete a file if it exists."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
