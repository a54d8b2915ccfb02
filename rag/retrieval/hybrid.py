"""Hybrid retrieval: vector search and BM25 fused by reciprocal rank fusion.

:class:`HybridRetriever` is a LangChain :class:`BaseRetriever`, so it plugs
into LCEL chains. Each returned document carries ``rank`` (1-based),
``score`` (fused RRF score), ``vector_score`` (cosine similarity, when the
chunk was among the vector candidates), ``bm25_score`` and ``id``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.text.glossary import expand_query

if TYPE_CHECKING:
    from rag.store.knowledge_base import KnowledgeBase

logger = logging.getLogger(__name__)


def rrf_fuse(
    rankings: list[list[str]], weights: list[float], k: int = 60
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of several ranked id lists.

    Args:
        rankings: Ranked lists of ids, best first.
        weights: One weight per list.
        k: RRF constant; larger flattens the rank differences.

    Returns:
        ``(id, fused_score)`` pairs, best first; ties keep first-seen order.
    """
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class HybridRetriever(BaseRetriever):
    """Top-k chunks of a :class:`KnowledgeBase` by fused vector and BM25 ranks."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: Any
    k: int = 5
    fetch_k: int = 30
    rrf_k: int = 60
    vector_weight: float = 1.0
    bm25_weight: float = 1.0
    expand_vector: bool = True

    @classmethod
    def from_kb(cls, kb: KnowledgeBase, k: int | None = None) -> HybridRetriever:
        """Build a retriever with the knowledge base's settings.

        Args:
            kb: The knowledge base.
            k: Results per query (default: ``settings.top_k``).

        Returns:
            A configured retriever.
        """
        s = kb.settings
        return cls(
            kb=kb,
            k=k or s.top_k,
            fetch_k=max(s.fetch_k, k or s.top_k),
            rrf_k=s.rrf_k,
            vector_weight=s.vector_weight,
            bm25_weight=s.bm25_weight,
        )

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self.search(query)

    def search(self, query: str, k: int | None = None) -> list[Document]:
        """Retrieve the top chunks for ``query``.

        Args:
            query: The question.
            k: Overrides the retriever's ``k``.

        Returns:
            Documents with rank and score metadata, best first; empty for an
            empty store or a blank query.
        """
        k = k or self.k
        if not query.strip():
            return []
        lexical = self.kb.lexical_ready()  # in step with the store; empty when the store is
        if len(lexical) == 0:
            return []
        fetch = max(self.fetch_k, k)
        expanded = " ".join([query, *expand_query(query, lexical.glossary())])
        # Candidates are ranked by id alone; texts and metadata are read once,
        # for the k chunks that survive fusion.
        vector_hits = self.kb.vector_search(
            self.kb.embeddings.embed_query(expanded if self.expand_vector else query), fetch
        )
        vector_scores = {chunk_id: 1.0 - float(distance) for chunk_id, distance in vector_hits}
        bm25_hits = lexical.search(expanded, fetch)
        bm25_scores = dict(bm25_hits)
        fused = rrf_fuse(
            [list(vector_scores), [i for i, _ in bm25_hits]],
            [self.vector_weight, self.bm25_weight],
            self.rrf_k,
        )[:k]
        docs = self.kb.fetch_documents([i for i, _ in fused])
        results: list[Document] = []
        for chunk_id, score in fused:
            doc = docs.get(chunk_id)
            if doc is None:  # not in the store: BM25 index briefly ahead, or just deleted
                continue
            meta = dict(doc.metadata)
            meta.update(
                id=chunk_id,
                rank=len(results) + 1,
                score=round(score, 6),
                vector_score=round(vector_scores[chunk_id], 4)
                if chunk_id in vector_scores
                else None,
                bm25_score=round(bm25_scores[chunk_id], 4) if chunk_id in bm25_scores else None,
            )
            results.append(Document(page_content=doc.page_content, metadata=meta, id=chunk_id))
        return results
