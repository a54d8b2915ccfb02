"""The record of one answered question, as the command-line contract defines it.

One record per question::

    {"id", "question", "answer", "sources": [{"rank", "source", "page",
     "heading", "text", "score"}], "timings_ms": {"retrieve", "generate", "total"}}

With the LLM, ``timings_ms`` also has ``rewrite``: the time spent rewriting a
follow-up or translating an English question before retrieval, which
``retrieve`` then leaves out; and the record has ``check``: what the checks
before and after the answer decided (:func:`check_record`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document

from rag.answer.chain import AnswerEvent


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


def timings_ms(
    start: float, retrieved: float, done: float, extra: dict[str, float]
) -> dict[str, float]:
    """The record's ``timings_ms`` from ``perf_counter`` readings.

    Args:
        start: When the question came in.
        retrieved: When the sources were ready.
        done: When the answer was complete.
        extra: Steps timed apart (``rewrite``), left out of ``retrieve``.

    Returns:
        ``rewrite`` (if timed), ``retrieve``, ``generate`` and ``total`` in ms.
    """
    to_sources = (retrieved - start) * 1000
    return {
        **extra,
        "retrieve": round(to_sources - extra.get("rewrite", 0.0), 1),
        "generate": round((done - retrieved) * 1000, 1),
        "total": round((done - start) * 1000, 1),
    }


def check_record(done: AnswerEvent) -> dict[str, Any]:
    """What the checks decided for one answer, from its ``done`` event.

    ``question`` is the question as searched and checked (a follow-up rewritten),
    ``reason`` the first check's verdict (:attr:`rag.retrieval.support.Support.reason`,
    "" when supported), ``missing`` the parts it found no value for, ``dropped`` the
    sentences taken out after the answer, ``unanswered`` the parts the written
    answer gave no value for.
    """
    support = done.support
    return {
        "question": done.question,
        "reason": support.reason if support else "",
        "missing": list(support.missing) if support else [],
        "dropped": [sentence for sentence, _ in done.dropped],
        "unanswered": list(done.unanswered),
    }
