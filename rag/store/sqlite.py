"""The SQLite connection every file of the store dir is opened with."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path, *, relaxed_sync: bool = False) -> sqlite3.Connection:
    """Open (and create) a database beside the store, shared across threads, in WAL mode.

    Args:
        path: The SQLite file; its folder is created.
        relaxed_sync: ``synchronous=NORMAL``, for files that can be rebuilt (records, caches).

    Returns:
        An autocommit connection; callers serialize access with their own lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    if relaxed_sync:
        conn.execute("PRAGMA synchronous=NORMAL")
    return conn
