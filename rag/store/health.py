"""Is Chroma's vector index on disk sound? Checked where a crash cannot reach the user.

A truncated HNSW file makes vector search silently return worse neighbours;
one full of random bytes makes the Chroma library crash the process (SIGSEGV)
as soon as it loads it. :func:`probe` therefore opens a store that this
process has not opened yet in a child process: it samples chunks, looks up
the vector each was embedded with (the embedding cache, else the vector
Chroma returns), and asks the vector index for its nearest neighbours; every
sampled chunk must find itself. A store this process already holds is checked
the same way in-process.

:func:`guard_open` runs the probe before a process first opens a store whose
index files changed since the last good probe (their names, sizes and times
are remembered in ``vector_index.ok``), so ``rag.ask``, the app and the
checks get a message that says what to run instead of a crash.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import child_env
from rag.store.chroma import CHROMA_DIR, is_open_here
from rag.store.embedding_cache import EmbeddingCache

if TYPE_CHECKING:
    from chromadb import Collection

    from rag.config import Settings

logger = logging.getLogger(__name__)

#: Chunks sampled per probe.
SAMPLES = 64
#: Neighbours asked for each sampled chunk (duplicate texts share a vector).
NEIGHBOURS = 10
MARKER = "vector_index.ok"


@dataclass(frozen=True)
class Health:
    """What a probe found: ``problem`` is empty when the index is sound."""

    sampled: int = 0
    unfound: int = 0
    problem: str = ""
    readable: bool = True  # False: opening it here could crash or fail

    @property
    def ok(self) -> bool:
        """True when every sampled chunk was found by its own vector."""
        return not self.problem


def signature(settings: Settings) -> str:
    """Names, sizes and modification times of the files of the vector index."""
    root = settings.vectorstore_dir / CHROMA_DIR
    if not root.is_dir():
        return ""
    parts = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.parent != root:  # segment folders, not chroma.sqlite3
            stat = path.stat()
            parts.append(f"{path.relative_to(root).as_posix()}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


def check_collection(collection: Collection, cache_path: Path | None, model_id: str) -> Health:
    """Sample chunks of ``collection`` and check that vector search finds each by its vector."""
    total = collection.count()
    if total == 0:
        return Health()
    step = max(1, total // SAMPLES)
    every = collection.get(include=[], limit=total)["ids"]
    got = collection.get(ids=every[::step][:SAMPLES], include=["documents"])
    ids, texts = got["ids"], got["documents"] or []
    vectors: list[Any] = [None] * len(ids)
    if cache_path is not None and cache_path.exists():
        cache = EmbeddingCache(cache_path, model_id)
        try:
            vectors = list(cache.get_many([t or "" for t in texts]))
        finally:
            cache.close()
    missing = [i for i, v in enumerate(vectors) if v is None]
    if missing:
        stored = collection.get(ids=[ids[i] for i in missing], include=["embeddings"])
        read = stored["embeddings"]
        by_id = dict(zip(stored["ids"], [] if read is None else list(read), strict=False))
        for i in missing:
            vectors[i] = by_id.get(ids[i])
    pairs = [(i, v) for i, v in zip(ids, vectors, strict=True) if v is not None]
    if not pairs:
        return Health(problem="no stored vector could be read back")
    found = collection.query(
        query_embeddings=[list(map(float, v)) for _, v in pairs],  # type: ignore[arg-type]
        n_results=min(NEIGHBOURS, total),
        include=[],
    )
    unfound = sum(1 for (i, _), hits in zip(pairs, found["ids"], strict=True) if i not in hits)
    problem = ""
    if unfound:
        problem = (
            f"the vector index disagrees with the stored chunks: {unfound} of {len(pairs)} "
            "sampled chunks are not found by their own vector"
        )
    return Health(len(pairs), unfound, problem)


def probe(settings: Settings, model_id: str, timeout: float = 300.0) -> Health:
    """Check the store's vector index, in a child process unless this process has it open.

    Args:
        settings: The store's settings.
        model_id: The embedding model (for the embedding cache).
        timeout: Seconds the child may take.

    Returns:
        What was found; a crash of the child is a problem, not an exception.
    """
    if settings.chroma_host:
        return Health()
    root = settings.vectorstore_dir / CHROMA_DIR
    if not (root / "chroma.sqlite3").exists():
        return Health()
    if is_open_here(settings):
        from rag.store.chroma import build_client, open_collection

        try:
            collection = open_collection(build_client(settings), settings.collection_name)
        except Exception:  # no collection yet
            return Health()
        return check_collection(collection, _cache_path(settings), model_id)
    spec = {
        "store": str(settings.vectorstore_dir),
        "collection": settings.collection_name,
        "model_id": model_id,
        "cache": str(_cache_path(settings) or ""),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "rag.store.health", json.dumps(spec)],
            capture_output=True,
            timeout=timeout,
            env=child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Health(problem=f"reading the vector index took over {timeout:g} s", readable=False)
    try:
        result = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = None
    if done.returncode != 0 or not isinstance(result, dict):
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
        return Health(
            problem=f"the vector index cannot be read: Chroma crashed ({how})", readable=False
        )
    health = Health(
        int(result["sampled"]),
        int(result["unfound"]),
        str(result["problem"]),
        bool(result.get("readable", True)),
    )
    if health.ok:
        remember(settings)
    return health


def guard_open(settings: Settings, model_id: str) -> Health:
    """Probe the index before this process first opens it, if it changed since the last probe.

    Returns:
        The probe's result (sound when nothing needed checking); a sound index
        is remembered so the next open skips the probe.
    """
    if settings.chroma_host or is_open_here(settings):
        return Health()
    current = signature(settings)
    marker = settings.vectorstore_dir / MARKER
    if not current or (marker.exists() and marker.read_text(encoding="utf-8") == current):
        return Health()
    health = probe(settings, model_id)
    if health.ok:
        remember(settings)
    else:
        logger.error("%s: %s", settings.vectorstore_dir, health.problem)
    return health


def remember(settings: Settings) -> None:
    """Record the index files as sound (after a good probe or a write of this process)."""
    current = signature(settings)
    if current:
        (settings.vectorstore_dir / MARKER).write_text(current, encoding="utf-8")


def _cache_path(settings: Settings) -> Path | None:
    path = settings.vectorstore_dir / "embedding_cache.sqlite3"
    return path if settings.embedding_cache else None


def _child(spec: dict[str, str]) -> dict[str, object]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(Path(spec["store"]) / CHROMA_DIR),
        settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
    )
    try:
        collection = client.get_collection(name=spec["collection"], embedding_function=None)
    except Exception:  # no collection yet: nothing to check
        return {"sampled": 0, "unfound": 0, "problem": ""}
    cache = Path(spec["cache"]) if spec["cache"] else None
    health = check_collection(collection, cache, spec["model_id"])
    return {"sampled": health.sampled, "unfound": health.unfound, "problem": health.problem}


if __name__ == "__main__":
    try:
        out = _child(json.loads(sys.argv[1]))
    except Exception as exc:  # a damaged sqlite file, an unreadable segment
        problem = f"the vector store cannot be read: {exc}"
        out = {"sampled": 0, "unfound": 0, "problem": problem, "readable": False}
    sys.stdout.write(json.dumps(out) + "\n")
