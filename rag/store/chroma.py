"""The Chroma vector store, its client, and the embedding-model guard.

The collection is created in cosine space and records, in its metadata,
which embedding model filled it. Opening it with another model raises
:class:`EmbeddingModelMismatch`, which tells the user how to re-index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from rag.models.embeddings import model_id_of

if TYPE_CHECKING:
    from chromadb import Collection
    from chromadb.api import ClientAPI

    from rag.config import Settings

logger = logging.getLogger(__name__)

MODEL_KEY = "embedding_model"
#: The folder of the on-disk Chroma store inside ``VECTORSTORE_DIR``.
CHROMA_DIR = "chroma"
#: On-disk Chroma folders this process has opened (Chroma keeps one client per folder).
_OPENED: set[str] = set()
#: Chunks read per request when paging through a whole collection.
PAGE_SIZE = 5000
#: Ids per request when reading chunks by id.
ID_BATCH = 1000


class BatchedChroma(Chroma):
    """:class:`Chroma` that splits large writes and deletes into the client's max batch size."""

    def _max_batch(self) -> int:
        try:
            return max(1, int(self._client.get_max_batch_size()))
        except (AttributeError, TypeError, ValueError):
            return 1000

    def add_texts(  # noqa: D102
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts, size = list(texts), self._max_batch()
        if len(texts) <= size:
            return super().add_texts(texts, metadatas=metadatas, ids=ids, **kwargs)
        out: list[str] = []
        for start in range(0, len(texts), size):
            out += super().add_texts(
                texts[start : start + size],
                metadatas=metadatas[start : start + size] if metadatas else None,
                ids=ids[start : start + size] if ids else None,
                **kwargs,
            )
        return out

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> None:  # noqa: D102
        if not ids:
            super().delete(ids=ids, **kwargs)
            return
        ids, size = list(ids), self._max_batch()
        for start in range(0, len(ids), size):
            super().delete(ids=ids[start : start + size], **kwargs)


class StoreError(Exception):
    """The store cannot be used as asked; the message says what to do."""


class EmbeddingModelMismatch(StoreError):
    """The collection was built by a different embedding model."""


def build_client(settings: Settings) -> ClientAPI:
    """Create the Chroma client: a server when ``CHROMA_HOST`` is set, else on disk.

    Args:
        settings: App settings.

    Returns:
        A Chroma client with telemetry off.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        return chromadb.HttpClient(
            host=settings.chroma_host,
            port=settings.chroma_port,
            settings=chroma_settings,
        )
    settings.vectorstore_dir.mkdir(parents=True, exist_ok=True)
    path = settings.vectorstore_dir / CHROMA_DIR
    client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    _OPENED.add(str(path.resolve()))
    return client


def is_open_here(settings: Settings) -> bool:
    """Whether this process has opened the store's Chroma folder."""
    return str((settings.vectorstore_dir / CHROMA_DIR).resolve()) in _OPENED


def remove_unused_segments(client: ClientAPI, settings: Settings) -> int:
    """Delete the vector-index folders left by dropped collections, when no collection is left.

    Chroma names each folder after a segment of a collection; dropping the
    collection does not always remove it.

    Returns:
        The number of folders deleted.
    """
    import shutil

    if settings.chroma_host or client.list_collections():
        return 0
    root = settings.vectorstore_dir / CHROMA_DIR
    removed = 0
    for folder in root.iterdir() if root.is_dir() else []:
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def recorded_model(client: ClientAPI, name: str) -> str | None:
    """The embedding model recorded on collection ``name``, or None if it does not exist."""
    try:
        collection = client.get_collection(name=name, embedding_function=None)
    except Exception:  # chromadb raises NotFoundError / ValueError by version
        return None
    return str((collection.metadata or {}).get(MODEL_KEY, "unknown"))


def open_vectorstore(client: ClientAPI, name: str, embeddings: Embeddings, *, where: str) -> Chroma:
    """Open (or create) the collection for ``embeddings``.

    Args:
        client: Chroma client.
        name: Collection name.
        embeddings: The embedder in use.
        where: Human description of the store location, for messages.

    Returns:
        A LangChain :class:`Chroma` bound to the collection.

    Raises:
        EmbeddingModelMismatch: The collection was built with another model.
    """
    wanted = model_id_of(embeddings)
    found = recorded_model(client, name)
    if found is not None and found != wanted:
        raise EmbeddingModelMismatch(
            f"The store at {where} was built with embedding model '{found}', but the current "
            f"setting is '{wanted}'. Re-index with: python -m rag.ingest --rebuild "
            f"(or set EMBEDDING_BACKEND back to the model that built it)."
        )
    return BatchedChroma(
        collection_name=name,
        embedding_function=embeddings,
        client=client,
        collection_metadata={MODEL_KEY: wanted},
        collection_configuration={"hnsw": {"space": "cosine"}},
    )


def drop_collection(client: ClientAPI, name: str) -> None:
    """Delete collection ``name`` if it exists."""
    try:
        client.delete_collection(name=name)
        logger.info("deleted collection %s", name)
    except Exception:  # not found
        logger.debug("collection %s did not exist", name)


def open_collection(client: ClientAPI, name: str) -> Collection:
    """The chromadb collection ``name`` (which :func:`open_vectorstore` created).

    Reads by id and vector queries go through it rather than through
    langchain-chroma's private ``_collection``.
    """
    collection: Collection = client.get_collection(name=name, embedding_function=None)
    return collection


def pages(collection: Collection, include: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Every chunk of ``collection``, :data:`PAGE_SIZE` at a time, as chromadb ``get`` results."""
    total, offset = collection.count(), 0
    while offset < total:
        got = collection.get(include=list(include), limit=PAGE_SIZE, offset=offset)  # type: ignore[arg-type]
        if not got["ids"]:
            break
        yield dict(got)
        offset += len(got["ids"])


def all_ids(collection: Collection) -> list[str]:
    """Every chunk id in ``collection``."""
    return [chunk_id for page in pages(collection, []) for chunk_id in page["ids"]]


def all_metadatas(collection: Collection) -> dict[str, dict[str, Any]]:
    """Every chunk id in ``collection`` with its metadata."""
    out: dict[str, dict[str, Any]] = {}
    for page in pages(collection, ["metadatas"]):
        out.update(zip(page["ids"], [dict(m or {}) for m in page["metadatas"]], strict=True))
    return out


def ids_where(collection: Collection, where: dict[str, Any]) -> list[str]:
    """The ids of the chunks whose metadata ``where`` keeps."""
    got = collection.get(where=where, include=[])
    return list(got["ids"])


def get_chunks(
    collection: Collection, ids: Sequence[str]
) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """``(id, text, metadata)`` of the chunks with these ids (unknown ids are left out)."""
    for start in range(0, len(ids), ID_BATCH):
        got = collection.get(
            ids=list(ids[start : start + ID_BATCH]), include=["documents", "metadatas"]
        )
        metas = got["metadatas"] or []
        yield from zip(
            got["ids"], got["documents"] or [], [dict(m or {}) for m in metas], strict=True
        )


def chunk_embeddings(collection: Collection, ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Stored vectors of the chunks with these ids (unknown ids are left out)."""
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(ids), ID_BATCH):
        got = collection.get(ids=list(ids[start : start + ID_BATCH]), include=["embeddings"])
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        out.update(
            (chunk_id, np.asarray(vector, dtype=np.float32))
            for chunk_id, vector in zip(got["ids"], vectors, strict=True)
        )
    return out


def nearest(
    collection: Collection,
    embedding: Sequence[float],
    k: int,
    where: dict[str, Any] | None = None,
) -> list[tuple[str, float]]:
    """The ``k`` chunks nearest to ``embedding`` (among those ``where`` keeps): ids, distances."""
    got = collection.query(
        query_embeddings=[list(map(float, embedding))],  # type: ignore[arg-type]
        n_results=k,
        include=["distances"],
        where=where,
    )
    distances = got["distances"] or [[]]
    return list(zip(got["ids"][0], distances[0], strict=True))
