"""A persistent embedding cache keyed by embedding model and text hash.

Chunks whose text was embedded before by the same model are never embedded
again: not after ``--rebuild``, not after re-chunking other files, not when
the same paragraph appears in two notes. Vectors are stored as float32 bytes
in one SQLite file beside the store.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.store.sqlite import connect


def text_key(text: str) -> str:
    """The cache key of a text (sha256 of its UTF-8 bytes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """SQLite-backed map from (model, text hash) to a vector."""

    def __init__(self, path: Path, model_id: str) -> None:
        """Open (and create) the cache.

        Args:
            path: SQLite file.
            model_id: Vectors of other models are never returned.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.model_id = model_id
        self._lock = threading.Lock()
        self._conn = connect(path, relaxed_sync=True)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, key))"
        )

    def get_many(self, texts: Sequence[str]) -> list[list[float] | None]:
        """Cached vectors for ``texts`` (None where missing)."""
        keys = [text_key(t) for t in texts]
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                rows = self._conn.execute(
                    f"SELECT key, vector FROM vectors WHERE model=? AND key IN "
                    f"({','.join('?' * len(batch))})",
                    [self.model_id, *batch],
                )
                found.update(rows)
        return [
            np.frombuffer(found[k], dtype=np.float32).tolist() if k in found else None for k in keys
        ]

    def put_many(self, texts: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        """Store vectors for texts."""
        rows = [
            (self.model_id, text_key(t), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock:
            self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM vectors WHERE model=?", [self.model_id]
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
