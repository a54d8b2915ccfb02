"""Hybrid retrieval: chunk vectors, sentence vectors and BM25, fused by score.

:class:`HybridRetriever` is a LangChain :class:`BaseRetriever`, so it plugs
into LCEL chains. The candidates are the ``fetch_k`` nearest chunks by vector
and the ``fetch_k`` best by BM25. Each candidate is scored by

    vector_weight · cos(question, chunk) + sentence_weight · max cos(question, sentence)
    + bm25_weight · BM25 / best BM25 of the question,

so a chunk wins when it is close as a whole, when one of its sentences says
what was asked (most questions ask about one sentence of a chunk), and when it
shares the question's rarer words. Each returned document carries ``rank``
(1-based), ``score`` (the fused score), ``vector_score``, ``sentence_score``
(cosine similarities), ``bm25_score`` and ``id``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.retrieval.asked import compared_sides
from rag.retrieval.neighbours import group_neighbours, join_texts
from rag.store.knowledge_base import MAX_QUERY_TIME_SENTENCES
from rag.store.scope import Scope, scope_where
from rag.text.glossary import expand_query

if TYPE_CHECKING:
    from rag.store.knowledge_base import KnowledgeBase

logger = logging.getLogger(__name__)

#: Added to a comparison question's candidates that name both sides (twice for a table).
COMPARE_BONUS = 0.02


def _names_both(text: str, sides: tuple[list[str], list[str]]) -> bool:
    lowered = text.lower()
    return all(any(term in lowered for term in side) for side in sides)


class HybridRetriever(BaseRetriever):
    """Top-k chunks of a :class:`KnowledgeBase` by fused chunk, sentence and BM25 scores."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: Any
    k: int = 5
    fetch_k: int = 40
    vector_weight: float = 1.0
    sentence_weight: float = 1.0
    bm25_weight: float = 0.05
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
            vector_weight=s.vector_weight,
            sentence_weight=s.sentence_weight,
            bm25_weight=s.bm25_weight,
        )

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self.search(query)

    @staticmethod
    def _side_terms(query: str, lexical: Any) -> tuple[list[str], list[str]] | None:
        """For a comparison question, the words that name each side (with glossary terms)."""
        sides = compared_sides(query)
        if sides is None:
            return None
        glossary = lexical.glossary()
        named = []
        for side in sides:
            tokens = lexical.query_tokens(side)[:1] + expand_query(side, glossary)
            named.append([t.lower() for t in tokens if t])
        return (named[0], named[1]) if all(named) else None

    def search(
        self, query: str, k: int | None = None, scope: Scope | None = None
    ) -> list[Document]:
        """Retrieve the top chunks for ``query``.

        Args:
            query: The question.
            k: Overrides the retriever's ``k``.
            scope: A resolved scope (:func:`rag.store.scope.resolve_scope`): only
                its chunks are candidates, on the vector and the BM25 side.

        Returns:
            Documents with rank and score metadata, best first; empty for an
            empty store, a blank query or a scope without chunks.
        """
        k = k or self.k
        if not query.strip():
            return []
        lexical = self.kb.lexical_ready()  # in step with the store; empty when the store is
        if len(lexical) == 0:
            return []
        fetch = max(self.fetch_k, k)
        # The glossary and CC-CEDICT's Chinese for an English question's words go
        # to both sides: the embedded query gains more from them than BM25 does.
        expanded = " ".join([query, *expand_query(query, lexical.dictionary())])
        vector = np.asarray(
            self.kb.embeddings.embed_query(expanded if self.expand_vector else query),
            dtype=np.float32,
        )
        where = scope_where(scope) if scope else None
        allowed = self.kb.ids_where(where) if where else None
        if allowed is not None and not allowed:
            return []
        vector_scores = {
            chunk_id: 1.0 - float(distance)
            for chunk_id, distance in self.kb.vector_search(vector.tolist(), fetch, where)
        }
        bm25_scores = dict(lexical.search(expanded, fetch, allowed))
        candidates = list(dict.fromkeys([*vector_scores, *bm25_scores]))
        if allowed is not None:  # the vector side is filtered by Chroma already; be sure
            candidates = [chunk_id for chunk_id in candidates if chunk_id in allowed]
        docs = self.kb.fetch_documents(candidates)
        # Not in the store: the BM25 index briefly ahead of it, or a chunk just deleted.
        candidates = [chunk_id for chunk_id in candidates if chunk_id in docs]
        lacking = [chunk_id for chunk_id in candidates if chunk_id not in vector_scores]
        for chunk_id, stored in self.kb.chunk_vectors(lacking).items():
            vector_scores[chunk_id] = float(stored @ vector)
        matrices = self.kb.sentence_matrices(
            [docs[chunk_id].page_content for chunk_id in candidates],
            max_new=MAX_QUERY_TIME_SENTENCES,
        )
        best_bm25 = max(bm25_scores.values(), default=0.0) or 1.0
        sides = self._side_terms(query, lexical)
        scored = []
        for chunk_id, matrix in zip(candidates, matrices, strict=True):
            whole = vector_scores.get(chunk_id, 0.0)
            sentence = float((matrix @ vector).max()) if matrix is not None else whole
            keywords = bm25_scores.get(chunk_id, 0.0) / best_bm25
            score = (
                self.vector_weight * whole
                + self.sentence_weight * sentence
                + self.bm25_weight * keywords
            )
            if sides and _names_both(docs[chunk_id].page_content, sides):
                score += COMPARE_BONUS * (2 if docs[chunk_id].metadata.get("table") else 1)
            scored.append((score, chunk_id, whole, sentence))
        scored.sort(key=lambda item: -item[0])
        ranked = [(score, chunk_id, docs[chunk_id]) for score, chunk_id, _, _ in scored]
        found = {chunk_id: (whole, sentence) for _, chunk_id, whole, sentence in scored}
        results: list[Document] = []
        for passage in group_neighbours(ranked, k):
            parts = passage.in_order()
            first_id, first = parts[0]
            meta = dict(first.metadata)
            meta.update(
                id=first_id,
                rank=len(results) + 1,
                score=round(passage.score, 6),
                vector_score=round(max(found[chunk_id][0] for chunk_id, _ in parts), 4),
                sentence_score=round(max(found[chunk_id][1] for chunk_id, _ in parts), 4),
                bm25_score=max(
                    (
                        round(bm25_scores[chunk_id], 4)
                        for chunk_id, _ in parts
                        if chunk_id in bm25_scores
                    ),
                    default=None,
                ),
            )
            if len(parts) > 1:
                meta["chunk_ids"] = ",".join(chunk_id for chunk_id, _ in parts)
            text = join_texts([doc.page_content for _, doc in parts])
            results.append(Document(page_content=text, metadata=meta, id=first_id))
        return results
