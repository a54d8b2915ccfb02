"""Benchmark 2: retrieval latency and memory at several corpus sizes, on synthetic stores."""

from __future__ import annotations

import gc
import logging
import math
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import dir_mb, percentile, proc_memory, with_paths
from benchmarks.ingest import copy_sqlite
from rag.config import Settings
from rag.models.embeddings import build_embeddings
from rag.retrieval.hybrid import HybridRetriever
from rag.store.knowledge_base import LEXICAL_FILE, SENTENCE_FILE, KnowledgeBase
from rag.text.sentences import split_sentences as rag_sentences
from rag.text.tokens import tokenize

logger = logging.getLogger("benchmarks")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` as the retriever cuts them, with at least 6 characters."""
    return [s for s in rag_sentences(text) if len(s) >= 6]


def synthetic_batches(
    pool_texts: Sequence[str],
    pool_vectors: np.ndarray,
    n: int,
    *,
    chunk_size: int = 360,
    batch_size: int = 1000,
    seed: int = 1234,
    noise: float = 0.015,
) -> Iterator[tuple[list[str], np.ndarray, list[str], list[dict[str, Any]]]]:
    """A seeded synthetic corpus made of the real notes, in batches.

    Chunk ``i`` mixes the shuffled sentences of a randomly picked pool chunk
    (about half its length) with random sentences of the other chunks, whole
    sentences up to ``chunk_size`` characters, one per line (so the retriever
    cuts the same sentences, whose vectors the real store already has); its
    vector is the pool chunk's vector plus Gaussian noise, L2-normalized.

    Args:
        pool_texts: Real chunk texts.
        pool_vectors: Their vectors, one row each.
        n: Number of synthetic chunks.
        chunk_size: Characters per chunk (at most).
        batch_size: Chunks per yielded batch.
        seed: Seed of both random generators.
        noise: Standard deviation of the noise per dimension.

    Yields:
        ``(ids, vectors, texts, metadatas)`` per batch.
    """
    if len(pool_texts) != len(pool_vectors) or not len(pool_texts):
        raise ValueError("pool_texts and pool_vectors must be non-empty and of equal length")
    text_rng = random.Random(seed)
    vec_rng = np.random.default_rng(seed)
    sentences = [split_sentences(t) or [t] for t in pool_texts]
    everything = [s for group in sentences for s in group]
    base = np.asarray(pool_vectors, dtype=np.float32)
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        picks = vec_rng.integers(0, len(pool_texts), size=count)
        vectors = base[picks] + vec_rng.normal(0.0, noise, size=(count, base.shape[1])).astype(
            np.float32
        )
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids, texts, metas = [], [], []
        for offset, pick in enumerate(picks):
            number = start + offset
            own = list(sentences[pick])
            text_rng.shuffle(own)
            parts: list[str] = []
            for sentence in own:
                if sum(map(len, parts)) >= chunk_size // 2:
                    break
                parts.append(sentence)
            while True:
                extra = text_rng.choice(everything)
                if sum(map(len, parts)) + len(extra) > chunk_size and parts:
                    break
                parts.append(extra)
            ids.append(f"syn-{number:07d}")
            texts.append("\n".join(parts))
            metas.append(
                {
                    "source": f"synthetic/note-{number // 250:04d}.md",
                    "chunk_index": number % 250,
                    "start_index": 0,
                }
            )
        yield ids, vectors, texts, metas


def probe_calls(obj: Any, name: str, spent: dict[str, float], key: str) -> None:
    """Wrap ``obj.name`` (on this instance only) to add its run time to ``spent[key]``."""
    original = getattr(obj, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - started

    setattr(obj, name, timed)


def _summary_ms(samples: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 50) * 1000, 2),
        "p95_ms": round(percentile(samples, 95) * 1000, 2),
        "mean_ms": round(float(np.mean(samples)) * 1000, 2) if samples else math.nan,
    }


def retrieval_size_run(
    settings: Settings,
    pool_texts: list[str],
    pool_vectors: np.ndarray,
    size: int,
    questions: list[str],
    warmups: list[str],
    seed: int = 1234,
    sentence_file: Path | None = None,
) -> dict[str, Any]:
    """Build a synthetic store of ``size`` chunks and time retrieval on it.

    Runs in a spawned worker process in the real bench (or in-process).

    Args:
        settings: Settings whose ``vectorstore_dir`` is an empty temp folder.
        pool_texts: Real chunk texts the corpus is made of.
        pool_vectors: Their embedding vectors.
        size: Number of chunks.
        questions: Timed questions.
        warmups: Questions asked first, untimed (their first one is timed as
            ``first_query_ms``).
        seed: Corpus seed.
        sentence_file: The real store's sentence vectors, copied in first (as an
            ingest would have written them for these sentences).

    Returns:
        Setup times, latency percentiles (total and per part), memory.
    """
    if sentence_file is not None and sentence_file.exists():
        settings.vectorstore_dir.mkdir(parents=True, exist_ok=True)
        copy_sqlite(sentence_file, settings.vectorstore_dir / SENTENCE_FILE)
    gc.collect()  # in-process runs: garbage of the previous step must not shrink the deltas
    mem_start = proc_memory()
    kb = KnowledgeBase(settings)
    collection = kb.collection
    batch = max(1, min(int(kb.client.get_max_batch_size()), 5000))
    started = time.perf_counter()
    kb.embeddings.embed_query("warm-up")  # load the model before the memory baseline
    model_load_s = time.perf_counter() - started
    mem_open = proc_memory()
    logger.info("retrieval %d: writing the synthetic corpus (batches of %d)", size, batch)
    gen_s = add_s = 0.0
    started = time.perf_counter()
    for ids, vectors, texts, metas in synthetic_batches(
        pool_texts, pool_vectors, size, chunk_size=settings.chunk_size, batch_size=batch, seed=seed
    ):
        added = time.perf_counter()
        gen_s += added - started
        collection.add(ids=ids, embeddings=vectors, documents=texts, metadatas=metas)
        started = time.perf_counter()
        add_s += started - added
    logger.info("retrieval %d: BM25 sync", size)
    started = time.perf_counter()
    kb.sync_lexical()
    lexical_s = time.perf_counter() - started
    mem_setup = proc_memory()

    retriever = HybridRetriever.from_kb(kb)
    started = time.perf_counter()
    retriever.search(warmups[0])
    first_query_s = time.perf_counter() - started
    for question in warmups[1:]:
        retriever.search(question)
    # Time the parts inside the same searches: wrap the three calls search makes.
    spent = dict.fromkeys(("embed", "vector", "bm25"), 0.0)
    probe_calls(kb.embeddings, "embed_query", spent, "embed")
    probe_calls(kb, "vector_search", spent, "vector")
    probe_calls(kb.lexical_ready(), "search", spent, "bm25")
    samples: dict[str, list[float]] = {
        "total": [],
        "embed": [],
        "vector": [],
        "bm25": [],
        "other": [],
    }
    for question in questions:
        for key in spent:
            spent[key] = 0.0
        started = time.perf_counter()
        retriever.search(question)
        total = time.perf_counter() - started
        samples["total"].append(total)
        for key, value in spent.items():
            samples[key].append(value)
        samples["other"].append(max(total - sum(spent.values()), 0.0))
    mem_end = proc_memory()
    result = {
        "size": size,
        "chunks": kb.chunk_count(),
        "questions": len(questions),
        "setup_s": round(gen_s + add_s, 2),
        "generate_s": round(gen_s, 2),
        "chroma_add_s": round(add_s, 2),
        "lexical_sync_s": round(lexical_s, 2),
        "first_query_ms": round(first_query_s * 1000, 1),
        **_summary_ms(samples["total"]),
        **{part: _summary_ms(samples[part]) for part in ("embed", "vector", "bm25", "other")},
        "embed_model_load_s": round(model_load_s, 3),
        "rss_start_mb": mem_start.get("rss_mb"),
        "rss_open_mb": mem_open.get("rss_mb"),
        "rss_setup_mb": mem_setup.get("rss_mb"),
        "rss_mb": mem_end.get("rss_mb"),
        "rss_delta_mb": round(mem_end.get("rss_mb", 0) - mem_open.get("rss_mb", 0), 1),
        "hwm_mb": mem_end.get("hwm_mb"),
        "store_mb": dir_mb(settings.vectorstore_dir),
        "lexical_mb": dir_mb(settings.vectorstore_dir / LEXICAL_FILE),
    }
    logger.info("retrieval %d: p50 %.1f ms, p95 %.1f ms", size, result["p50_ms"], result["p95_ms"])
    return result


def fresh_open_run(settings: Settings, questions: list[str]) -> dict[str, Any]:
    """Open a persisted store as a new process would and answer its first questions.

    Times, in order: loading the persisted BM25 index, opening the Chroma
    collection, the consistency check of :meth:`KnowledgeBase.lexical_ready`,
    readying the loaded postings (term table, glossary), loading the
    embedding model, the first and the second search. Counts chunks tokenized
    on the way (should be 0).

    Args:
        settings: Settings of an existing store.
        questions: At least one question.

    Returns:
        The times in seconds, the number of re-tokenized chunks, and memory.
    """
    gc.collect()  # in-process runs: garbage of the previous step must not shrink the deltas
    mem_start = proc_memory()
    steps: dict[str, float] = {}
    kb = KnowledgeBase(settings)

    def step(name: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        value = fn()
        steps[name] = round(time.perf_counter() - started, 4)
        return value

    lexical = step("lexical_load_s", lambda: kb.lexical)
    tokenized = 0
    original_add = lexical.add

    def counting_add(items: Any) -> int:
        nonlocal tokenized
        count = original_add(items)
        tokenized += count
        return count

    lexical.add = counting_add  # type: ignore[method-assign]
    step("chroma_open_s", kb.chunk_count)
    step("lexical_check_s", kb.lexical_ready)
    step("postings_build_s", lambda: (lexical.glossary(), lexical.doc_freq("模型")))
    step("embed_model_load_s", lambda: kb.embeddings.embed_query("warm-up"))
    step("tokenizer_init_s", lambda: tokenize("预热 warm-up"))
    retriever = HybridRetriever.from_kb(kb)
    step("first_query_s", lambda: retriever.search(questions[0]))
    step("second_query_s", lambda: retriever.search(questions[-1]))
    total = sum(v for k, v in steps.items() if k != "second_query_s")
    return {
        **steps,
        "to_first_answer_s": round(total, 3),
        "retokenized": tokenized,
        "chunks": kb.chunk_count(),
        "rss_mb": proc_memory().get("rss_mb"),
        "rss_delta_mb": round(proc_memory().get("rss_mb", 0) - mem_start.get("rss_mb", 0), 1),
    }


def _worker_entry(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Set up logging in a spawned worker (nothing is inherited), then run ``fn(*args)``."""
    from rag.cli.common import setup_logging

    setup_logging(False)
    logger.setLevel(logging.INFO)
    return fn(*args)


def _in_worker(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a fresh spawned process and return its result."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_worker_entry, fn, *args).result()


def pool_from_store(
    kb: KnowledgeBase, size: int = 300, seed: int = 1234
) -> tuple[list[str], np.ndarray]:
    """Up to ``size`` real chunk texts and their stored vectors (no model call)."""
    got = kb.collection.get(include=["documents", "embeddings"])
    texts, vectors = list(got["documents"]), np.asarray(got["embeddings"], dtype=np.float32)
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    order = sorted(order[:size])
    return [texts[i] for i in order], vectors[order]


def bench_retrieval(
    settings: Settings,
    work: Path,
    sizes: Sequence[int],
    pool_texts: list[str],
    pool_vectors: np.ndarray,
    questions: list[str],
    *,
    isolate: bool = True,
    n_questions: int = 50,
    sentence_file: Path | None = None,
) -> list[dict[str, Any]]:
    """Retrieval latency and memory at each corpus size.

    Args:
        settings: Base settings (the store dir is replaced by a temp one per size).
        work: Temp folder.
        sizes: Corpus sizes in chunks.
        pool_texts: Real chunk texts for the synthetic corpus.
        pool_vectors: Their vectors.
        questions: Real questions; the first ``n_questions`` are timed, the
            next three (or the first three) warm up.
        isolate: Run each size (and each fresh open) in its own spawned process.
        n_questions: How many questions to time.
        sentence_file: The real store's sentence vectors (see :func:`retrieval_size_run`).

    Returns:
        One result per size, with a ``fresh`` entry for the fresh open.
    """
    timed = questions[:n_questions]
    warmups = questions[n_questions : n_questions + 3] or questions[:3]
    results = []
    for size in sizes:
        size_settings = with_paths(settings, vectorstore_dir=work / f"store-{size}")
        args = (size_settings, pool_texts, pool_vectors, size, timed, warmups, 1234, sentence_file)
        result = _in_worker(retrieval_size_run, *args) if isolate else retrieval_size_run(*args)
        logger.info("retrieval %d: fresh open", size)
        fresh_args = (size_settings, [timed[0], timed[-1]])
        result["fresh"] = (
            _in_worker(fresh_open_run, *fresh_args) if isolate else fresh_open_run(*fresh_args)
        )
        result["isolated"] = isolate
        results.append(result)
        gc.collect()
    return results


def query_embedding_run(
    settings: Settings, questions: list[str], threads: int | None
) -> dict[str, Any]:
    """Time the embedding model on questions alone, optionally with ``OMP_NUM_THREADS``.

    Meant for a fresh spawned process: OpenMP reads the variable when the
    engine's library loads.

    Args:
        settings: Settings naming the embedding backend.
        questions: Questions to embed (after one warm-up).
        threads: Value for ``OMP_NUM_THREADS`` (None: leave the environment as it is).

    Returns:
        The setting and latency percentiles.
    """
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    embedder = build_embeddings(settings)
    embedder.embed_query("warm-up")
    samples = []
    for question in questions:
        started = time.perf_counter()
        embedder.embed_query(question)
        samples.append(time.perf_counter() - started)
    return {
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "questions": len(questions),
        **_summary_ms(samples),
    }


def bench_query_threads(settings: Settings, questions: list[str]) -> list[dict[str, Any]]:
    """Query-embedding latency with the default OpenMP threads and with one thread.

    Each setting runs in its own spawned process.
    """
    return [_in_worker(query_embedding_run, settings, questions, t) for t in (None, 1)]
