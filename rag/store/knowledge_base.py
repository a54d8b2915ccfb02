"""One object that wires the knowledge base's parts together from settings.

:class:`KnowledgeBase` owns the embedder, the Chroma client and collection,
the record manager and the lexical index, each created on first use. It is
the only place where these parts are assembled; entry points create one and
hand it to the services (ingest, retrieve, answer).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from rag.models.embeddings import (
    build_embeddings,
    embedding_model_id,
    engine_of,
    model_id_of,
)
from rag.store.chroma import (
    CHROMA_DIR,
    StoreError,
    all_ids,
    all_metadatas,
    build_client,
    chunk_embeddings,
    drop_collection,
    get_chunks,
    ids_where,
    nearest,
    open_collection,
    open_vectorstore,
    remove_unused_segments,
)
from rag.store.conversations import CONVERSATIONS_FILE, ConversationStore
from rag.store.embedding_cache import EmbeddingCache
from rag.store.feedback import FEEDBACK_FILE, FeedbackStore
from rag.store.health import guard_open, probe
from rag.store.lexical import LexicalIndex
from rag.store.records import RECORDS_FILE, SQLiteRecordManager, records_readable
from rag.text.sentences import split_sentences

if TYPE_CHECKING:
    from chromadb import Collection
    from chromadb.api import ClientAPI
    from langchain_chroma import Chroma

    from rag.config import Settings

logger = logging.getLogger(__name__)

#: The BM25 index beside the store.
LEXICAL_FILE = "lexical.npz"
#: Sentence vectors of the chunks, by sentence text, beside the store.
SENTENCE_FILE = "sentence_vectors.sqlite3"
#: At most this many sentences are embedded while answering a question (a store
#: built before sentence vectors existed gets them at its next ingest instead).
MAX_QUERY_TIME_SENTENCES = 32


class TimedEmbeddings(Embeddings):
    """Wraps an embedder: a persistent cache in front, timing and progress events.

    The real embedder is created on first use, so that opening a store (or an
    ingest with nothing to embed) loads no model. Texts the cache lacks are
    embedded longest first, ``batch_size`` at a time, so that a batch's texts
    have similar lengths and padding costs little. ``seconds`` is the time spent
    inside the real model, ``embedded`` the texts it embedded, ``cached`` the
    texts served from the cache.
    """

    def __init__(
        self,
        inner: Embeddings | Callable[[], Embeddings],
        model_id: str,
        batch_size: int = 32,
        cache: EmbeddingCache | None = None,
    ) -> None:
        """Wrap ``inner``.

        Args:
            inner: The real embedder, or a function that creates it.
            model_id: The real embedder's model id (known without creating it).
            batch_size: Texts per call into ``inner`` (and per progress event).
            cache: Optional persistent cache of passage vectors.
        """
        self._inner = inner if isinstance(inner, Embeddings) else None
        self._factory = None if isinstance(inner, Embeddings) else inner
        self._lock = threading.Lock()
        self.batch_size = batch_size
        self.cache = cache
        self.cached = 0
        self.model_id = model_id
        self.seconds = 0.0
        self.embedded = 0
        self.listeners: list[Callable[[int], None]] = []

    @property
    def engine_name(self) -> str:
        """What runs the real embedder (loads it)."""
        return engine_of(self.inner)

    @property
    def inner(self) -> Embeddings:
        """The real embedder (created on first access)."""
        with self._lock:
            if self._inner is None:
                assert self._factory is not None  # set whenever _inner is not
                self._inner = self._factory()
            return self._inner

    def _notify(self, count: int) -> None:
        for listener in list(self.listeners):
            listener(count)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages, from the cache where it has them; times the model and notifies."""
        found: list[list[float] | None] = (
            self.cache.get_many(texts) if self.cache is not None else [None] * len(texts)
        )
        missing = sorted(
            (i for i, vector in enumerate(found) if vector is None), key=lambda i: -len(texts[i])
        )
        if len(missing) < len(texts):
            self.cached += len(texts) - len(missing)
            self._notify(len(texts) - len(missing))
        for begin in range(0, len(missing), self.batch_size):
            rows = missing[begin : begin + self.batch_size]
            batch = [texts[i] for i in rows]
            inner = self.inner
            start = time.perf_counter()
            fresh = inner.embed_documents(batch)
            self.seconds += time.perf_counter() - start
            self.embedded += len(batch)
            if self.cache is not None:
                self.cache.put_many(batch, fresh)
            for row, vector in zip(rows, fresh, strict=True):
                found[row] = vector
            self._notify(len(batch))
        return [vector for vector in found if vector is not None]

    def embed_query(self, text: str) -> list[float]:
        """Embed a question."""
        return self.inner.embed_query(text)

    def embed_sentences(self, texts: list[str]) -> list[list[float]]:
        """Embed sentences as passages: timed, but no cache and no progress events."""
        vectors: list[list[float]] = []
        ordered = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        found: list[list[float]] = [[] for _ in texts]
        for begin in range(0, len(ordered), self.batch_size):
            rows = ordered[begin : begin + self.batch_size]
            start = time.perf_counter()
            fresh = self.inner.embed_documents([texts[i] for i in rows])
            self.seconds += time.perf_counter() - start
            for row, vector in zip(rows, fresh, strict=True):
                found[row] = vector
        vectors.extend(found)
        return vectors


class StoreDamaged(StoreError):
    """The store's files on disk are damaged; the message says what to run."""


class KnowledgeBase:
    """The store and indexes of one knowledge base (a data dir and a store dir)."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        """Describe the knowledge base; nothing is opened until used.

        Args:
            settings: App settings (data dir, store dir, backends).
            embeddings: Embedder to use instead of the one settings name.
        """
        self.settings = settings
        self._embeddings = embeddings
        self._lock = threading.RLock()
        self._lexical_checked = False
        #: Repair and rebuild open a store they have already checked (or set aside).
        self.skip_health_check = False
        self._outline: tuple[int, dict[str, tuple[str, list[str]]]] | None = None

    @cached_property
    def embeddings(self) -> TimedEmbeddings:
        """The embedder, behind the persistent cache, wrapped for timing (loaded on first use)."""
        given = self._embeddings
        model_id = model_id_of(given) if given is not None else embedding_model_id(self.settings)
        cache = None
        if self.settings.embedding_cache:
            cache = EmbeddingCache(
                self.settings.vectorstore_dir / "embedding_cache.sqlite3", model_id
            )
        inner: Embeddings | Callable[[], Embeddings] = given or (
            lambda: build_embeddings(self.settings)
        )
        return TimedEmbeddings(inner, model_id, self.settings.embedding_batch_size, cache)

    @cached_property
    def client(self) -> ClientAPI:
        """The Chroma client; a damaged vector index raises before Chroma loads it.

        Raises:
            StoreDamaged: The index on disk fails its probe (:mod:`rag.store.health`).
        """
        if not self.skip_health_check:
            health = guard_open(self.settings, self.embeddings.model_id)
            if not health.ok:
                raise StoreDamaged(
                    f"The vector index at {self.location} is damaged: {health.problem}. "
                    "Repair it with: python -m rag.ingest --repair (the notes are indexed "
                    "again from the data folder, with their cached vectors)."
                )
        return build_client(self.settings)

    @property
    def location(self) -> str:
        """Where the store lives, for messages."""
        if self.settings.chroma_host:
            return f"chroma://{self.settings.chroma_host}:{self.settings.chroma_port}"
        return str(self.settings.vectorstore_dir)

    @cached_property
    def vectorstore(self) -> Chroma:
        """The LangChain Chroma store (raises on an embedding-model mismatch)."""
        return open_vectorstore(
            self.client,
            self.settings.collection_name,
            self.embeddings,
            where=self.location,
        )

    @cached_property
    def record_manager(self) -> SQLiteRecordManager:
        """The persistent record manager."""
        return SQLiteRecordManager(
            namespace=f"chroma/{self.settings.collection_name}",
            db_path=self.settings.vectorstore_dir / RECORDS_FILE,
        )

    @cached_property
    def conversations(self) -> ConversationStore:
        """The saved conversations (beside the store; ``--rebuild`` keeps them)."""
        return ConversationStore(self.settings.vectorstore_dir / CONVERSATIONS_FILE)

    @cached_property
    def feedback(self) -> FeedbackStore:
        """The ratings of answers (beside the store; ``--rebuild`` keeps them)."""
        return FeedbackStore(self.settings.vectorstore_dir / FEEDBACK_FILE)

    @cached_property
    def lexical(self) -> LexicalIndex:
        """The BM25 index, loaded from disk."""
        store_dir = self.settings.vectorstore_dir
        index = LexicalIndex(store_dir / LEXICAL_FILE)
        index.load()
        return index

    @cached_property
    def collection(self) -> Collection:
        """The chromadb collection behind :attr:`vectorstore` (reads by id, vector queries)."""
        self.vectorstore  # noqa: B018 - opens (and creates) the collection, with the model guard
        return open_collection(self.client, self.settings.collection_name)

    def chunk_count(self) -> int:
        """Number of chunks in the collection."""
        return self.collection.count()

    def store_ids(self) -> list[str]:
        """Every chunk id in the collection."""
        return all_ids(self.collection)

    def metadatas(self) -> dict[str, dict[str, Any]]:
        """Every chunk id in the collection with its metadata."""
        return all_metadatas(self.collection)

    def chunks(self, ids: Sequence[str]) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
        """``(id, text, metadata)`` of the chunks with these ids; unknown ids are left out."""
        return get_chunks(self.collection, ids)

    def vector_search(
        self, embedding: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` chunks nearest to ``embedding``: ids and cosine distances only.

        Texts and metadata are not read here: retrieval fetches them only for
        the few chunks it returns (:meth:`fetch_documents`).

        Args:
            embedding: The query vector.
            k: How many neighbours.
            where: A Chroma metadata filter (a scope, :func:`rag.store.scope.scope_where`).

        Returns:
            ``(chunk_id, distance)`` pairs, nearest first.
        """
        return nearest(self.collection, embedding, k, where)

    def ids_where(self, where: dict[str, Any]) -> set[str]:
        """The ids of the chunks that a Chroma metadata filter keeps."""
        return set(ids_where(self.collection, where))

    def outline(self) -> dict[str, tuple[str, list[str]]]:
        """Each indexed note: its title and its chunks' headings in file order.

        Read again only when the number of chunks changes.
        """
        count = self.chunk_count()
        cached = self._outline
        if cached is not None and cached[0] == count:
            return cached[1]
        rows: dict[str, list[tuple[int, str]]] = {}
        titles: dict[str, str] = {}
        for meta in self.metadatas().values():
            source = str(meta.get("source", ""))
            titles.setdefault(source, str(meta.get("title") or source))
            rows.setdefault(source, []).append(
                (int(meta.get("chunk_index") or 0), str(meta.get("heading") or ""))
            )
        outline = {
            source: (
                titles[source],
                list(dict.fromkeys(h for _, h in sorted(rows[source]) if h)),
            )
            for source in sorted(rows)
        }
        self._outline = (count, outline)
        return outline

    def fetch_documents(self, ids: list[str]) -> dict[str, Document]:
        """Chunks by id, as documents with their metadata; unknown ids are left out."""
        return {
            chunk_id: Document(page_content=text, metadata=meta, id=chunk_id)
            for chunk_id, text, meta in self.chunks(ids)
            if text is not None
        }

    def fetch_texts(self, ids: list[str]) -> dict[str, str]:
        """Chunk texts by id."""
        return {chunk_id: text or "" for chunk_id, text, _ in self.chunks(ids)}

    @cached_property
    def sentence_vectors(self) -> EmbeddingCache:
        """Vectors of the chunks' sentences, keyed by model and sentence text."""
        return EmbeddingCache(
            self.settings.vectorstore_dir / SENTENCE_FILE, self.embeddings.model_id
        )

    def sentence_matrices(
        self, texts: Sequence[str], max_new: int | None = None
    ) -> list[np.ndarray | None]:
        """For each chunk text, the unit vectors of its sentences (one row each).

        Sentences without a stored vector are embedded and stored, at most
        ``max_new`` of them (None: all); a chunk that still lacks one gets None.

        Args:
            texts: Chunk texts.
            max_new: Limit on sentences embedded now.

        Returns:
            One ``(n_sentences, dim)`` float32 matrix per text, or None.
        """
        per_text = [split_sentences(text) for text in texts]
        unique = list(dict.fromkeys(s for sentences in per_text for s in sentences))
        found = dict(zip(unique, self.sentence_vectors.get_many(unique), strict=True))
        missing = [s for s, v in found.items() if v is None]
        if missing and (max_new is None or len(missing) <= max_new):
            fresh = self.embeddings.embed_sentences(missing)
            self.sentence_vectors.put_many(missing, fresh)
            found.update(zip(missing, fresh, strict=True))
        matrices: list[np.ndarray | None] = []
        for sentences in per_text:
            rows = [found[s] for s in sentences]
            if not rows or any(r is None for r in rows):
                matrices.append(None)
            else:
                matrices.append(np.asarray(rows, dtype=np.float32))
        return matrices

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of chunks by id (unknown ids are left out)."""
        return chunk_embeddings(self.collection, ids)

    def sync_lexical(self) -> None:
        """Bring the BM25 index in step with the collection and save it."""
        with self._lock:
            added, removed = self.lexical.sync(self.store_ids(), self.fetch_texts)
            if added or removed or not (self.lexical.path and self.lexical.path.exists()):
                self.lexical.save()
            self._lexical_checked = True

    def lexical_ready(self) -> LexicalIndex:
        """The BM25 index, reloaded if another process saved a newer one.

        On first use it is checked against the collection's size and
        re-synced when they differ (for example after an interrupted ingest).
        """
        with self._lock:
            if self.lexical.stale_on_disk():
                self.lexical.load()
                self._lexical_checked = False
            if not self._lexical_checked:
                if self.lexical.ids != set(self.store_ids()):
                    self.sync_lexical()
                self._lexical_checked = True
            return self.lexical

    def reset(self) -> None:
        """Delete every chunk, record and index entry of this knowledge base.

        A vector index that cannot be read is moved aside (never loaded); the
        folders of the dropped collection are removed.
        """
        with self._lock:
            if not (
                self.settings.chroma_host or self.skip_health_check or "client" in self.__dict__
            ):
                health = probe(self.settings, self.embeddings.model_id)
                if not health.readable:
                    self.set_aside_index(health.problem)
            self.skip_health_check = True
            drop_collection(self.client, self.settings.collection_name)
            removed = remove_unused_segments(self.client, self.settings)
            if removed:
                logger.info("removed %d vector-index folder(s) of the dropped collection", removed)
            self.__dict__.pop("vectorstore", None)
            self.__dict__.pop("collection", None)
            self.record_manager.clear()
            self.lexical.clear()
            self._lexical_checked = False

    def set_aside_index(self, reason: str) -> Path:
        """Move a damaged Chroma folder (and an unreadable record database) out of the way.

        Nothing of it is loaded; the notes and the embedding caches stay, so the
        store can be filled again without embedding anything twice.

        Returns:
            The folder it was moved to.
        """
        store = self.settings.vectorstore_dir
        target = store / f"damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        target.mkdir(parents=True, exist_ok=True)
        moved = []
        for name in (CHROMA_DIR, LEXICAL_FILE):
            if (store / name).exists():
                (store / name).rename(target / name)
                moved.append(name)
        if not records_readable(store / RECORDS_FILE):
            self.__dict__.pop("record_manager", None)
            for suffix in ("", "-wal", "-shm"):
                path = store / (RECORDS_FILE + suffix)
                if path.exists():
                    path.rename(target / path.name)
            moved.append(RECORDS_FILE)
        logger.warning("%s (%s): moved %s to %s", store, reason, ", ".join(moved), target)
        for name in list(self.__dict__):
            if name in ("client", "vectorstore", "collection", "lexical"):
                self.__dict__.pop(name)
        self._lexical_checked = False
        return target
