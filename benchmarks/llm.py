"""Benchmark 3: the local LLM (load, time to sources and first token, tokens/s)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import TYPICAL_QUESTIONS, proc_memory
from rag.retrieval.hybrid import HybridRetriever
from rag.store.knowledge_base import KnowledgeBase

logger = logging.getLogger("benchmarks")


def bench_llm(kb: KnowledgeBase, questions: Sequence[str] = TYPICAL_QUESTIONS) -> dict[str, Any]:
    """Time the local model answering ``questions`` through :meth:`Answerer.stream`.

    As in the app, the model is loaded and warmed up (the fixed system prompt is
    evaluated once) before the first question; each question is then a new one,
    so its passages and the question itself are the prompt's cost.

    Args:
        kb: An ingested knowledge base (its settings are used with ``llm_provider=local``).
        questions: The questions, answered in turn.

    Returns:
        Model load time and per-run timings.
    """
    from rag.answer.chain import Answerer

    settings = kb.settings.model_copy(update={"llm_provider": "local"})
    retriever = HybridRetriever.from_kb(kb)
    retriever.search("warm-up: 注意力机制")  # loads the embedding model and the BM25 postings
    started = time.perf_counter()
    answerer = Answerer.from_settings(settings, retriever)
    llm = answerer.llm
    result: dict[str, Any] = {
        "questions": list(questions),
        "model": Path(getattr(llm, "model_path", "")).name,
        "threads": getattr(llm, "n_threads", None),
        "top_k": retriever.k,
        "passage_tokens": settings.answer_passage_tokens,
        "resolve_s": round(time.perf_counter() - started, 3),
    }
    mem_before = proc_memory()
    started = time.perf_counter()
    llama = llm.client  # loads the GGUF
    if hasattr(llm, "seed"):
        llm.seed = 1234  # repeatable answers
    result["load_s"] = round(time.perf_counter() - started, 3)
    result["rss_model_delta_mb"] = round(
        proc_memory().get("rss_mb", 0) - mem_before.get("rss_mb", 0), 1
    )
    started = time.perf_counter()
    answerer.warm_up()
    result["warm_up_s"] = round(time.perf_counter() - started, 3)
    result["runs"] = []
    for number, question in enumerate(questions):
        logger.info("LLM run %d", number + 1)
        started = time.perf_counter()
        sources_t = first_t = last_t = None
        text, refused, generated = "", False, []
        for event in answerer.stream(question):
            now = time.perf_counter() - started
            if event.kind == "sources":
                sources_t, refused = now, event.refused
            elif event.kind == "token" and not event.prefill:
                generated.append(event.text)
                first_t = now if first_t is None else first_t
                last_t = now
            elif event.kind == "done":
                text, refused = event.text, event.refused
        total = time.perf_counter() - started
        tokens = llm.count_tokens("".join(generated))  # the model's, not a prefill's
        decode = (last_t or 0) - (first_t or 0)
        run = {
            "sources_s": round(sources_t or 0.0, 3),
            "ttft_s": round(first_t, 3) if first_t is not None else None,
            "prefill_s": round(first_t - sources_t, 3) if first_t and sources_t else None,
            "total_s": round(total, 3),
            "tokens": tokens,
            "stream_pieces": len(generated),
            "tokens_per_s": round((tokens - 1) / decode, 2) if tokens > 1 and decode > 0 else None,
            "prompt_tokens": max(int(getattr(llama, "n_tokens", 0)) - tokens, 0) or None,
            "question": question,
            "refused": refused,
            "answer_preview": text[:120],
            "answer": text,
        }
        if number == 0:
            run["ttft_incl_load_s"] = round((run["ttft_s"] or 0) + result["load_s"], 3)
        result["runs"].append(run)
        logger.info("LLM run %d: TTFT %.2f s, %d tokens", number + 1, first_t or 0, tokens)
    ttfts = [run["ttft_s"] for run in result["runs"] if run["ttft_s"] is not None]
    result["ttft_max_s"] = max(ttfts) if ttfts else None
    result["rss_mb"] = proc_memory().get("rss_mb")
    return result
