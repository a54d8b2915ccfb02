"""A persistent record manager for LangChain's indexing API, on SQLite.

The record manager remembers which chunk ids (content hashes) were written
for which source file, so ``langchain_core.indexing.index`` can skip
unchanged chunks and delete stale ones. It also keeps one row per ingested
file (chunk count, pages, content hash, time) for listings.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.indexing import RecordManager

from rag.store.sqlite import connect

#: The record database's file name inside ``VECTORSTORE_DIR``.
RECORDS_FILE = "records.sqlite3"


def records_readable(path: Path) -> bool:
    """Whether a record database opens and passes SQLite's quick check (True when absent)."""
    if not path.exists():
        return True
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return bool(conn.execute("PRAGMA quick_check").fetchone()[0] == "ok")
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False


@dataclass(frozen=True)
class FileRecord:
    """What the store holds for one source file."""

    source: str
    chunks: int
    pages: int
    sha256: str
    ingested_at: float


@dataclass(frozen=True)
class SetAside:
    """A file that could not be ingested, remembered so later runs skip it until it changes."""

    source: str
    sha256: str
    reason: str
    at: float


class SQLiteRecordManager(RecordManager):
    """:class:`RecordManager` backed by one SQLite file."""

    def __init__(self, namespace: str, db_path: Path) -> None:
        """Open (and create) the database.

        Args:
            namespace: Separates records of different collections.
            db_path: SQLite file.
        """
        super().__init__(namespace)
        self.db_path = db_path
        self._lock = threading.RLock()
        self._conn = connect(db_path, relaxed_sync=True)
        self.create_schema()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def create_schema(self) -> None:
        """Create the tables if missing."""
        with self._lock:
            self._conn.executescript(
                """
                CREATE TABLE IF NOT EXISTS records (
                    namespace TEXT NOT NULL, key TEXT NOT NULL, group_id TEXT,
                    updated_at REAL NOT NULL, PRIMARY KEY (namespace, key));
                CREATE INDEX IF NOT EXISTS records_group ON records (namespace, group_id);
                CREATE INDEX IF NOT EXISTS records_time ON records (namespace, updated_at);
                CREATE TABLE IF NOT EXISTS files (
                    namespace TEXT NOT NULL, source TEXT NOT NULL, chunks INTEGER NOT NULL,
                    pages INTEGER NOT NULL, sha256 TEXT NOT NULL, ingested_at REAL NOT NULL,
                    PRIMARY KEY (namespace, source));
                CREATE TABLE IF NOT EXISTS set_aside (
                    namespace TEXT NOT NULL, source TEXT NOT NULL, sha256 TEXT NOT NULL,
                    reason TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (namespace, source));
                """
            )

    async def acreate_schema(self) -> None:
        """Async :meth:`create_schema`."""
        self.create_schema()

    def get_time(self) -> float:
        """Current time, strictly increasing across calls in this process."""
        with self._lock:
            now = time.time()
            last = getattr(self, "_last_time", 0.0)
            self._last_time = max(now, last + 1e-6)
            return self._last_time

    async def aget_time(self) -> float:
        """Async :meth:`get_time`."""
        return self.get_time()

    def update(
        self,
        keys: Sequence[str],
        *,
        group_ids: Sequence[str | None] | None = None,
        time_at_least: float | None = None,
    ) -> None:
        """Upsert keys with the current time.

        Args:
            keys: Record keys.
            group_ids: Source id of each key.
            time_at_least: Guard against clock skew; must not be in the future.
        """
        if group_ids is None:
            group_ids = [None] * len(keys)
        if len(group_ids) != len(keys):
            raise ValueError("keys and group_ids must have the same length")
        now = self.get_time()
        if time_at_least is not None and now < time_at_least:
            raise ValueError(f"time_at_least ({time_at_least}) is in the future (now {now})")
        rows = [(self.namespace, k, g, now) for k, g in zip(keys, group_ids, strict=True)]
        with self._lock:
            self._conn.executemany(
                "INSERT INTO records (namespace, key, group_id, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET group_id=excluded.group_id, "
                "updated_at=excluded.updated_at",
                rows,
            )

    async def aupdate(self, keys: Sequence[str], **kwargs: object) -> None:
        """Async :meth:`update`."""
        self.update(keys, **kwargs)  # type: ignore[arg-type]

    def exists(self, keys: Sequence[str]) -> list[bool]:
        """Which keys are recorded."""
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = list(keys[start : start + 500])
                marks = ",".join("?" * len(batch))
                cur = self._conn.execute(
                    f"SELECT key FROM records WHERE namespace=? AND key IN ({marks})",
                    [self.namespace, *batch],
                )
                found.update(row[0] for row in cur)
        return [k in found for k in keys]

    async def aexists(self, keys: Sequence[str]) -> list[bool]:
        """Async :meth:`exists`."""
        return self.exists(keys)

    def list_keys(
        self,
        *,
        before: float | None = None,
        after: float | None = None,
        group_ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[str]:
        """Keys filtered by time and group."""
        sql = "SELECT key FROM records WHERE namespace=?"
        args: list[object] = [self.namespace]
        if before is not None:
            sql += " AND updated_at < ?"
            args.append(before)
        if after is not None:
            sql += " AND updated_at > ?"
            args.append(after)
        if group_ids is not None:
            sql += f" AND group_id IN ({','.join('?' * len(group_ids))})"
            args.extend(group_ids)
        sql += " ORDER BY key"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            return [row[0] for row in self._conn.execute(sql, args)]

    async def alist_keys(self, **kwargs: object) -> list[str]:
        """Async :meth:`list_keys`."""
        return self.list_keys(**kwargs)  # type: ignore[arg-type]

    def delete_keys(self, keys: Sequence[str]) -> None:
        """Forget keys."""
        with self._lock:
            self._conn.executemany(
                "DELETE FROM records WHERE namespace=? AND key=?",
                [(self.namespace, k) for k in keys],
            )

    async def adelete_keys(self, keys: Sequence[str]) -> None:
        """Async :meth:`delete_keys`."""
        self.delete_keys(keys)

    def group_ids(self) -> list[str]:
        """All source ids that have records."""
        with self._lock:
            cur = self._conn.execute(
                "SELECT DISTINCT group_id FROM records WHERE namespace=? AND group_id IS NOT NULL "
                "ORDER BY group_id",
                [self.namespace],
            )
            return [row[0] for row in cur]

    def all_keys(self) -> list[tuple[str, str | None]]:
        """Every ``(key, group_id)`` pair of this namespace."""
        with self._lock:
            cur = self._conn.execute(
                "SELECT key, group_id FROM records WHERE namespace=? ORDER BY key",
                [self.namespace],
            )
            return [(row[0], row[1]) for row in cur]

    def put_file(self, record: FileRecord) -> None:
        """Record what was ingested for one file."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self.namespace,
                    record.source,
                    record.chunks,
                    record.pages,
                    record.sha256,
                    record.ingested_at,
                ),
            )

    def delete_file(self, source: str) -> None:
        """Forget a file's listing row."""
        with self._lock:
            self._conn.execute(
                "DELETE FROM files WHERE namespace=? AND source=?",
                (self.namespace, source),
            )

    def files(self) -> list[FileRecord]:
        """Listing rows of all ingested files, by source."""
        with self._lock:
            cur = self._conn.execute(
                "SELECT source, chunks, pages, sha256, ingested_at FROM files WHERE namespace=? "
                "ORDER BY source",
                [self.namespace],
            )
            return [FileRecord(*row) for row in cur]

    def put_set_aside(self, entry: SetAside) -> None:
        """Remember that a file, with these bytes, could not be ingested, and why."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO set_aside VALUES (?, ?, ?, ?, ?)",
                (self.namespace, entry.source, entry.sha256, entry.reason, entry.at),
            )

    def forget_set_aside(self, source: str) -> None:
        """Forget that a file was set aside (it was ingested, changed or removed)."""
        with self._lock:
            self._conn.execute(
                "DELETE FROM set_aside WHERE namespace=? AND source=?", (self.namespace, source)
            )

    def set_aside(self) -> list[SetAside]:
        """Every file set aside, by source."""
        with self._lock:
            cur = self._conn.execute(
                "SELECT source, sha256, reason, at FROM set_aside WHERE namespace=? "
                "ORDER BY source",
                [self.namespace],
            )
            return [SetAside(*row) for row in cur]

    def clear(self) -> None:
        """Remove every record, file row and set-aside entry of this namespace."""
        with self._lock:
            self._conn.execute("DELETE FROM records WHERE namespace=?", [self.namespace])
            self._conn.execute("DELETE FROM files WHERE namespace=?", [self.namespace])
            self._conn.execute("DELETE FROM set_aside WHERE namespace=?", [self.namespace])
