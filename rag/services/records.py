"""Question answering service: retrieval, then (optionally) a grounded answer.

:class:`QAService` is what the CLIs and the web app call. It produces the
record format of the command-line contract::

    {"id", "question", "answer", "sources": [{"rank", "source", "page",
     "heading", "text", "score"}], "timings_ms": {"retrieve", "generate", "total"}}

With the LLM, ``timings_ms`` also has ``rewrite``: the time spent rewriting a
follow-up or translating an English question before retrieval, which
``retrieve`` then leaves out.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.documents import Document

from rag.store.knowledge_base import KnowledgeBase
from rag.retrieval.hybrid import HybridRetriever

logger = logging.getLogger(__name__)


def source_record(doc: Document) -> dict[str, Any]:
    """The JSON form of one retrieved chunk."""
    meta = doc.metadata
    return {
        "rank": meta.get("rank"),
        "source": meta.get("source"),
        "page": meta.get("page"),
        "heading": meta.get("heading") or None,
        "text": doc.page_content,
        "score": meta.get("score"),
    }


class QAService:
    """Retrieves passages for questions and asks the answer chain."""

    def __init__(self, kb: KnowledgeBase) -> None:
        """Create the service for one knowledge base.

        Args:
            kb: The knowledge base to search.
        """
        self.kb = kb
        self.retriever = HybridRetriever.from_kb(kb)
        self._answerer = None

    def retrieve(self, question: str, k: int | None = None) -> list[Document]:
        """Top-k chunks for ``question`` (see :class:`HybridRetriever`)."""
        return self.retriever.search(question, k)

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        use_llm: bool = True,
        qid: str | None = None,
    ) -> dict[str, Any]:
        """Answer one question and time each step.

        Args:
            question: The question.
            k: Passages to retrieve (default: settings).
            use_llm: False to only retrieve (the answer is empty).
            qid: Identifier copied into the record.

        Returns:
            The contract record.
        """
        start = time.perf_counter()
        record: dict[str, Any] = {"id": qid, "question": question, "answer": ""}
        timings: dict[str, float] = {}
        if use_llm:
            for event in self.answerer.stream(question, k=k):
                if event.kind == "sources":
                    docs, retrieved = event.docs, time.perf_counter()
                    timings["rewrite"] = round(event.rewrite_ms, 1)
                elif event.kind == "done":
                    record["answer"], record["refused"] = event.text, event.refused
        else:
            docs = self.retrieve(question, k)
            retrieved = time.perf_counter()
        done = time.perf_counter()
        record["sources"] = [source_record(d) for d in docs]
        to_sources = (retrieved - start) * 1000
        record["timings_ms"] = {
            **timings,
            "retrieve": round(to_sources - timings.get("rewrite", 0.0), 1),
            "generate": round((done - retrieved) * 1000, 1),
            "total": round((done - start) * 1000, 1),
        }
        return record

    @property
    def answerer(self):
        """The answer chain, built on first use."""
        if self._answerer is None:
            from rag.answer.chain import Answerer

            self._answerer = Answerer.from_settings(self.kb.settings, self.retriever)
        return self._answerer
