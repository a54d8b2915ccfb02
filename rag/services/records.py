"""The record of one answered question, as the command-line contract defines it.

One record per question::

    {"id", "question", "answer", "sources": [{"rank", "source", "page",
     "heading", "text", "score"}], "timings_ms": {"retrieve", "generate", "total"}}

With the LLM, ``timings_ms`` also has ``rewrite``: the time spent rewriting a
follow-up or translating an English question before retrieval, which
``retrieve`` then leaves out.
"""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document


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
