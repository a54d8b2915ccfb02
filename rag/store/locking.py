"""One writer per store: an inter-process lock file, re-entrant within a process.

Chroma on disk, the SQLite record manager and the lexical index file are not safe
for several processes writing at once. Every write path (ingest, remove,
re-index, repair) runs inside :func:`write_lock`, which takes an exclusive
``fcntl.flock`` on ``VECTORSTORE_DIR/.write.lock`` and writes the holder's pid
into it. A second process waits up to a timeout, then gets :class:`StoreLocked`.
The kernel drops the lock when its holder exits, however it exits (even on
SIGKILL), so a stale lock file never blocks anyone.

Within one process there is one :class:`StoreLock` per lock file (``flock``
locks belong to an open file, so a second one in the same process would block
against the first). It is re-entrant for the thread that holds it; other
threads of the process queue behind it without a time limit (the web app runs
uploads in threads and wants them queued, not refused), and only the first
thread in waits for other processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rag.store.chroma import StoreError

if TYPE_CHECKING:
    from rag.store.knowledge_base import KnowledgeBase

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: Seconds a lock taken without a timeout waits for another process
#: (:func:`write_lock` uses the ``INGEST_LOCK_TIMEOUT`` setting instead).
LOCK_TIMEOUT = 10.0
#: The lock file's name inside ``VECTORSTORE_DIR``.
LOCK_NAME = ".write.lock"
_POLL = 0.05


class StoreLocked(StoreError):
    """Another process holds the store's write lock."""

    def __init__(self, store: str, pid: int | None) -> None:
        """Describe who holds the lock.

        Args:
            store: The store, for the message.
            pid: The holder's pid, if it could be read.
        """
        self.store = store
        self.pid = pid
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"another ingest is running on {store} ({who}); try again when it finishes"
        )


class StoreLock:
    """An exclusive lock on one lock file: inter-process ``flock`` plus a thread ``RLock``."""

    def __init__(self, path: Path, label: str | None = None) -> None:
        """Describe the lock; nothing is opened until :meth:`acquire`.

        Args:
            path: The lock file (created when first taken).
            label: How to name the store in messages (default: the lock's folder).
        """
        self.path = path
        self.label = label or str(path.parent)
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether some thread of this process holds the lock."""
        return self._depth > 0

    def holder_pid(self) -> int | None:
        """The pid written in the lock file by its current holder, if any."""
        try:
            words = self.path.read_text(encoding="ascii", errors="replace").split()
            return int(words[0]) if words else None
        except (OSError, ValueError):
            return None

    def acquire(self, timeout: float | None = None) -> None:
        """Take the lock, waiting up to ``timeout`` seconds for other processes.

        Other threads of this process are waited for without a limit.

        Args:
            timeout: Seconds to wait for another process (None: :data:`LOCK_TIMEOUT`;
                0: do not wait).

        Raises:
            StoreLocked: Another process still holds it after ``timeout``.
        """
        self._thread_lock.acquire()
        try:
            if self._depth == 0:
                self._fd = self._lock_file(LOCK_TIMEOUT if timeout is None else timeout)
            self._depth += 1
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        """Release one level; the file lock goes with the outermost level."""
        if self._depth <= 0:
            raise RuntimeError("release of an unheld StoreLock")
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fd, self._fd = self._fd, None
                try:
                    os.ftruncate(fd, 0)  # still ours: no other pid can be in the file yet
                    if fcntl is not None:
                        fcntl.flock(fd, fcntl.LOCK_UN)
                finally:
                    os.close(fd)
        finally:
            self._thread_lock.release()

    @contextlib.contextmanager
    def hold(self, timeout: float | None = None) -> Iterator[StoreLock]:
        """Context manager around :meth:`acquire` and :meth:`release`."""
        self.acquire(timeout)
        try:
            yield self
        finally:
            self.release()

    def _lock_file(self, timeout: float) -> int:
        """Open the lock file and ``flock`` it, polling until ``timeout``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is None:  # pragma: no cover - Windows
            logger.warning("no fcntl on this platform: %s guards threads only", self.path)
            return fd
        deadline = time.monotonic() + max(timeout, 0.0)
        waited = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                if time.monotonic() >= deadline:
                    raise StoreLocked(self.label, self.holder_pid())
                if not waited:
                    logger.warning(
                        "waiting up to %.0f s for another writer (pid %s) on %s",
                        timeout,
                        self.holder_pid() or "?",
                        self.label,
                    )
                    waited = True
                time.sleep(_POLL)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except BaseException:
            os.close(fd)
            raise
        return fd


_registry: dict[Path, StoreLock] = {}
_registry_lock = threading.Lock()


def store_lock(store_dir: Path, label: str | None = None) -> StoreLock:
    """The process-wide :class:`StoreLock` of the store in ``store_dir``.

    Args:
        store_dir: ``VECTORSTORE_DIR``; the lock file is ``.write.lock`` in it.
        label: How to name the store in messages (default: ``store_dir``).

    Returns:
        The same object for the same folder, every time.
    """
    path = Path(store_dir).expanduser().resolve() / LOCK_NAME
    with _registry_lock:
        lock = _registry.get(path)
        if lock is None:
            lock = _registry[path] = StoreLock(path, label or str(path.parent))
        return lock


@contextlib.contextmanager
def write_lock(kb: KnowledgeBase, timeout: float | None = None) -> Iterator[StoreLock]:
    """Hold the write lock of ``kb``'s store for the ``with`` block.

    Args:
        kb: The knowledge base (its ``VECTORSTORE_DIR`` holds the lock file).
        timeout: Seconds to wait for another process (None: the
            ``INGEST_LOCK_TIMEOUT`` setting).

    Yields:
        The held lock.

    Raises:
        StoreLocked: Another process kept the lock past ``timeout``.
    """
    lock = store_lock(kb.settings.vectorstore_dir, kb.location)
    with lock.hold(kb.settings.ingest_lock_timeout if timeout is None else timeout):
        yield lock
