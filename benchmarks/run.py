"""``python -m benchmarks.run [--out DIR] [--quick] [--skip-llm] [--skip-app] [--sizes N,N,...]``.

A benchmark script, not a test: it prints figures and writes them to
``DIR/bench.json``, ``DIR/bench.md`` (Markdown tables) and ``DIR/bench.png``
(default ``DIR``: ``bench_out/``). Everything runs in a temporary folder; the
user's ``VECTORSTORE_DIR`` is never opened.

What it measures:

1. **Ingest** of the notes in ``DATA_DIR`` (copied to a temp folder):
   (a) cold, into an empty store with an empty embedding cache (wall time,
   chunks/s, share of wall time inside the embedding model, and where the rest
   goes); (b) again with nothing changed; (c) after appending a paragraph to
   one file; (d) ``rebuild=True`` with the warm embedding cache. Also the
   whole ``python -m rag.ingest`` process (interpreter start and imports
   included) for (b) and (d), on a separate store seeded with the same cache.
2. **Retrieval** latency p50/p95 of :meth:`HybridRetriever.search` at several
   corpus sizes, with the query-embedding, vector-search and BM25 parts timed
   separately, process memory, and a fresh process opening the store and
   answering its first question. The corpus is synthetic: sentences of the
   real notes recombined into chunks, each with the e5 vector of a real chunk
   plus seeded Gaussian noise (embedding 100k texts would take hours), written
   straight into the Chroma collection. Each size runs in its own process
   (spawned) so that memory figures do not add up.
3. **Local LLM** (``--skip-llm`` to skip): model load, time to the sources
   event and to the first token, tokens generated and tokens/s, prompt tokens,
   for two typical questions asked after the warm-up the app does at start.
4. **App memory** (``--skip-app`` to skip): ``python app.py`` on a free port
   with a copy of the ingested store; one question over ``gradio_client``;
   VmRSS and VmHWM from ``/proc``.

Targets (from the performance issue) are checked and listed at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import multiprocessing
import os
import platform
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr

from rag.config import PROJECT_ROOT, Settings, get_settings
from rag.models.embeddings import build_embeddings
from rag.ingest.pipeline import Ingestor, IngestReport, collect_files
from rag.store.knowledge_base import LEXICAL_FILE, KnowledgeBase
from rag.store.lexical import tokenize
from rag.retrieval.hybrid import HybridRetriever

logger = logging.getLogger("benchmarks.run")  # also when run as __main__

DEFAULT_OUT = PROJECT_ROOT / "bench_out"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
DEFAULT_QUESTIONS = PROJECT_ROOT / "tests" / "data" / "dev_qa.jsonl"
#: The "typical question" of the LLM and app measurements.
TYPICAL_QUESTION = "RAG 和微调有什么区别？"
#: Typical questions for the LLM timing, asked one after the other after the warm-up.
TYPICAL_QUESTIONS = (TYPICAL_QUESTION, "什么是思维链提示？它为什么有用？")
#: Appended to one note for the "one file edited" measurement.
EDIT_PARAGRAPH = (
    "\n\n补充（基准测试）：检索增强生成在回答前先从笔记中检索相关段落，"
    "再把段落和问题一起交给模型；微调则把知识写进模型参数。"
    "两者可以结合使用，先用微调学会格式，再用检索提供最新的事实。\n"
)

#: Targets from the performance issue: (key, description, comparison, goal).
TARGETS: list[tuple[str, str, str, float]] = [
    (
        "ingest.cold.embed_share",
        "Cold ingest: share of wall time in the embedding model",
        ">=",
        0.85,
    ),
    ("ingest.rerun.seconds", "Re-run, nothing changed (in-process)", "<", 3.0),
    ("ingest.cli.rerun.wall_s", "Re-run, nothing changed (whole `python -m rag.ingest`)", "<", 3.0),
    ("ingest.rebuild.seconds", "Rebuild with warm embedding cache (in-process)", "<", 5.0),
    (
        "ingest.cli.rebuild.wall_s",
        "Rebuild with warm cache (whole `python -m rag.ingest`)",
        "<",
        5.0,
    ),
    ("ingest.rebuild.embedded", "Rebuild with warm cache: chunks embedded", "==", 0),
    ("retrieval.10000.p50_ms", "Retrieval p50 at 10k chunks (ms)", "<", 30.0),
    ("retrieval.100000.p50_ms", "Retrieval p50 at 100k chunks (ms)", "<", 150.0),
    (
        "retrieval.100000.fresh.retokenized",
        "Fresh open of 100k store: chunks re-tokenized",
        "==",
        0,
    ),
    ("llm.ttft_max_s", "Local LLM TTFT after warm-up, slowest typical question (s)", "<", 12.0),
]


# -- small helpers -------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) of ``values``, linear interpolation; NaN if empty."""
    if not values:
        return math.nan
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def proc_memory(pid: int | str = "self") -> dict[str, float]:
    """Resident memory of a process from ``/proc/<pid>/status``.

    Args:
        pid: A process id, or ``"self"``.

    Returns:
        ``{"rss_mb": VmRSS, "hwm_mb": VmHWM}`` in MiB (empty where ``/proc``
        is not available).
    """
    wanted = {"VmRSS": "rss_mb", "VmHWM": "hwm_mb"}
    out: dict[str, float] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            out[wanted[key]] = round(int(value.split()[0]) / 1024, 1)
    return out


def dir_mb(path: Path) -> float:
    """Total size of ``path`` (a file, or the files below a folder) in MiB."""
    if not path.exists():
        return 0.0
    if path.is_file():
        return round(path.stat().st_size / 2**20, 2)
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return round(total / 2**20, 2)


def load_average() -> list[float] | None:
    """The 1/5/15-minute load averages, when the OS reports them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a child process.

    Secrets and unset (None) fields are left out.
    """
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None or isinstance(value, SecretStr):
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        env[name.upper()] = str(value)
    return env


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment plus ``settings`` and ``extra``, for a child process."""
    env = dict(os.environ)
    env.update(settings_env(settings))
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(extra)
    return env


def with_paths(settings: Settings, **paths: Path) -> Settings:
    """A copy of ``settings`` with some fields replaced (paths made absolute)."""
    update = {k: Path(v).resolve() if isinstance(v, Path) else v for k, v in paths.items()}
    return settings.model_copy(update=update)


def read_questions(path: Path) -> list[str]:
    """The ``question`` of every line of a JSON Lines file."""
    questions = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if line.strip():
            question = str(json.loads(line).get("question", "")).strip()
            if question:
                questions.append(question)
    return questions


def dig(data: Any, dotted: str) -> Any:
    """``data["a"]["b"][0]`` for ``"a.b.0"``; None when any step is missing."""
    for part in dotted.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


# -- 1. ingest -----------------------------------------------------------------


class IngestProbe:
    """Times the parts of an ingest that are not the embedding model.

    Wraps, on the given knowledge base only, the vector store's
    ``add_documents``/``delete`` (minus the embedding-model time spent inside
    them: that is Chroma writes plus embedding-cache I/O) and
    :meth:`KnowledgeBase.sync_lexical`. A rebuild replaces the vector store,
    so :meth:`KnowledgeBase.reset` is wrapped to re-install the probe.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        """Install the probe on ``kb``.

        Args:
            kb: The knowledge base to observe.
        """
        self.kb = kb
        self.store_s = 0.0
        self.lexical_s = 0.0
        self.reset_s = 0.0
        original_sync, original_reset = kb.sync_lexical, kb.reset

        def sync_lexical() -> None:
            started = time.perf_counter()
            try:
                original_sync()
            finally:
                self.lexical_s += time.perf_counter() - started

        def reset() -> None:
            started = time.perf_counter()
            try:
                original_reset()
            finally:
                self.reset_s += time.perf_counter() - started
                self._wrap_store()

        kb.sync_lexical = sync_lexical  # type: ignore[method-assign]
        kb.reset = reset  # type: ignore[method-assign]
        self._wrap_store()

    def _wrap_store(self) -> None:
        store = self.kb.vectorstore
        for name in ("add_documents", "delete"):
            original = getattr(store, name)

            def timed(*args: Any, _original: Callable = original, **kwargs: Any) -> Any:
                embed_before = self.kb.embeddings.seconds
                started = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    elapsed = time.perf_counter() - started
                    self.store_s += elapsed - (self.kb.embeddings.seconds - embed_before)

            setattr(store, name, timed)

    def snapshot(self) -> dict[str, float]:
        """The accumulated times so far."""
        return {"store": self.store_s, "lexical": self.lexical_s, "reset": self.reset_s}


def _ingest_step(kb: KnowledgeBase, probe: IngestProbe, **kwargs: Any) -> dict[str, Any]:
    """Run one in-process ingest and describe it."""
    emb = kb.embeddings
    before = (emb.seconds, emb.embedded, emb.cached, probe.snapshot())
    started = time.perf_counter()
    report: IngestReport = Ingestor(kb).ingest(**kwargs)
    wall = time.perf_counter() - started
    after = probe.snapshot()
    embed_s = emb.seconds - before[0]
    store_s = after["store"] - before[3]["store"]
    lexical_s = after["lexical"] - before[3]["lexical"]
    reset_s = after["reset"] - before[3]["reset"]
    if report.failed:
        logger.warning("ingest failures: %s", [f.error for f in report.failed])
    written = report.total("added") + report.total("updated")
    return {
        "seconds": round(report.seconds, 3),
        "wall_s": round(wall, 3),
        "files": len(report.files),
        "failed": len(report.failed),
        "chunks": kb.chunk_count(),
        "chunks_written": written,
        "chunks_deleted": report.total("deleted"),
        "embedded": emb.embedded - before[1],
        "from_cache": emb.cached - before[2],
        "embed_s": round(embed_s, 3),
        "store_write_s": round(store_s, 3),
        "lexical_sync_s": round(lexical_s, 3),
        "reset_s": round(reset_s, 3),
        "other_s": round(max(report.seconds - embed_s - store_s - lexical_s - reset_s, 0.0), 3),
        "rest_s": round(max(report.seconds - embed_s, 0.0), 3),
        "embed_share": round(embed_s / report.seconds, 4) if report.seconds > 0 else None,
    }


_SUMMARY_RE = re.compile(r"; ([\d.]+) s, ([\d.]+) chunks/s")


def run_cli_ingest(
    settings: Settings, args: Sequence[str], cwd: Path, timeout: float = 1800
) -> dict[str, Any]:
    """Run ``python -m rag.ingest -q ARGS`` in a child process and time it.

    Args:
        settings: Settings the child gets through its environment.
        args: Extra command-line arguments.
        cwd: Working directory (a temp dir: no ``.env`` is read there).
        timeout: Seconds before the child is killed.

    Returns:
        Whole-process wall time, the seconds the command itself reported,
        its exit code and summary line.
    """
    command = [sys.executable, "-m", "rag.ingest", "-q", *args]
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=cwd,
        env=child_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    match = _SUMMARY_RE.search(summary)
    if done.returncode != 0:
        logger.warning("rag.ingest %s exited %d: %s", args, done.returncode, done.stderr[-2000:])
    return {
        "wall_s": round(wall, 3),
        "reported_s": float(match.group(1)) if match else None,
        "startup_s": round(wall - float(match.group(1)), 3) if match else None,
        "exit_code": done.returncode,
        "summary": summary,
    }


def time_import(module: str, cwd: Path, settings: Settings) -> float:
    """Wall time of a child process that only imports ``module``."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=cwd,
        env=child_env(settings),
        check=True,
        capture_output=True,
        timeout=600,
    )
    return round(time.perf_counter() - started, 3)


def copy_sqlite(src: Path, dest: Path) -> None:
    """Copy a SQLite database consistently (backup API), even while it is open."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(str(src)) as source, sqlite3.connect(str(dest)) as target:
        source.backup(target)


def bench_ingest(
    settings: Settings, work: Path, *, cli: bool = True
) -> tuple[dict[str, Any], KnowledgeBase]:
    """Measure ingest of the notes in ``settings.data_dir``, in temp dirs under ``work``.

    Args:
        settings: Base settings (``data_dir`` is read, never written).
        work: Temp folder for the data copy and the stores.
        cli: Also time whole ``python -m rag.ingest`` processes.

    Returns:
        The figures, and the in-process knowledge base (holding the real notes
        again at the end) for the later steps.
    """
    data = work / "data"
    shutil.copytree(settings.data_dir, data)
    files, _ = collect_files([data])
    if not files:
        raise ValueError(f"no notes to ingest in {settings.data_dir}")
    kb_settings = with_paths(settings, data_dir=data, vectorstore_dir=work / "store")
    kb = KnowledgeBase(kb_settings)
    cache = kb.embeddings.cache
    if cache is not None and len(cache):
        raise RuntimeError("the embedding cache of a new temp store is not empty")

    result: dict[str, Any] = {
        "files": len(files),
        "data_mb": round(sum(f.stat().st_size for f in files) / 2**20, 3),
        "embedding_model": kb.embeddings.model_id,
    }
    started = time.perf_counter()
    kb.embeddings.inner.embed_query("warm-up")  # load the model outside the timed ingest
    result["embed_model_load_s"] = round(time.perf_counter() - started, 3)
    probe = IngestProbe(kb)

    logger.info("ingest (a): cold, empty store and empty embedding cache")
    cold = _ingest_step(kb, probe)
    cold["chunks_per_s"] = round(cold["chunks_written"] / cold["seconds"], 2)
    cold["embed_chunks_per_s"] = (
        round(cold["embedded"] / cold["embed_s"], 2) if cold["embed_s"] > 0 else None
    )
    result["cold"] = cold
    logger.info(
        "cold: %d chunks in %.1f s, %.0f%% in the model",
        cold["chunks"],
        cold["seconds"],
        100 * (cold["embed_share"] or 0),
    )

    logger.info("ingest (b): nothing changed")
    result["rerun"] = _ingest_step(kb, probe)

    logger.info("ingest (c): one file edited")
    edited = files[0]
    original = edited.read_bytes()
    with edited.open("a", encoding="utf-8") as fh:
        fh.write(EDIT_PARAGRAPH)
    result["edit"] = _ingest_step(kb, probe) | {"file": edited.name}

    logger.info("ingest (d): rebuild with the warm embedding cache")
    result["rebuild"] = _ingest_step(kb, probe, rebuild=True)

    edited.write_bytes(original)
    result["restore"] = _ingest_step(kb, probe)

    if cli:
        result["cli"] = _bench_cli(kb_settings, work)
    result["store_mb"] = dir_mb(kb_settings.vectorstore_dir)
    return result, kb


def _bench_cli(kb_settings: Settings, work: Path) -> dict[str, Any]:
    """Whole-process ``python -m rag.ingest`` runs on a store seeded with the warm cache."""
    cli_settings = with_paths(kb_settings, vectorstore_dir=work / "store-cli")
    src_cache = kb_settings.vectorstore_dir / "embedding_cache.sqlite3"
    if kb_settings.embedding_cache and src_cache.exists():
        copy_sqlite(src_cache, cli_settings.vectorstore_dir / "embedding_cache.sqlite3")
    out: dict[str, Any] = {"import_s": time_import("rag.ingest", work, cli_settings)}
    logger.info("CLI: first ingest into a new store (warm cache)")
    out["seed"] = run_cli_ingest(cli_settings, [], work)
    logger.info("CLI (b): nothing changed")
    out["rerun"] = run_cli_ingest(cli_settings, [], work)
    logger.info("CLI (d): --rebuild")
    out["rebuild"] = run_cli_ingest(cli_settings, ["--rebuild"], work)
    out["store_dir"] = str(cli_settings.vectorstore_dir)
    return out


# -- 2. retrieval --------------------------------------------------------------

_SENTENCE_SPLIT_RE = re.compile(r"(?<=[。！？!?；;\n])")


def split_sentences(text: str) -> list[str]:
    """Sentences (and lines) of ``text`` with at least 6 characters."""
    parts = (s.strip() for s in _SENTENCE_SPLIT_RE.split(text))
    return [p for p in parts if len(p) >= 6]


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
    (about half its length) with random sentences of the other chunks, up to
    ``chunk_size`` characters, prefixed with a unique id; its vector is the
    pool chunk's vector plus Gaussian noise, L2-normalized.

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
            text = f"[syn-{number:07d}] "
            for sentence in own:
                if len(text) >= chunk_size // 2:
                    break
                text += sentence
            while len(text) < chunk_size:
                text += text_rng.choice(everything)
            ids.append(f"syn-{number:07d}")
            texts.append(text[:chunk_size])
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

    Returns:
        Setup times, latency percentiles (total and per part), memory.
    """
    gc.collect()  # in-process runs: garbage of the previous step must not shrink the deltas
    mem_start = proc_memory()
    kb = KnowledgeBase(settings)
    collection = kb.vectorstore._collection
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
    got = kb.vectorstore._collection.get(include=["documents", "embeddings"])
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

    Returns:
        One result per size, with a ``fresh`` entry for the fresh open.
    """
    timed = questions[:n_questions]
    warmups = questions[n_questions : n_questions + 3] or questions[:3]
    results = []
    for size in sizes:
        size_settings = with_paths(settings, vectorstore_dir=work / f"store-{size}")
        args = (size_settings, pool_texts, pool_vectors, size, timed, warmups)
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


# -- 3. local LLM ----------------------------------------------------------------


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
        }
        if number == 0:
            run["ttft_incl_load_s"] = round((run["ttft_s"] or 0) + result["load_s"], 3)
        result["runs"].append(run)
        logger.info("LLM run %d: TTFT %.2f s, %d tokens", number + 1, first_t or 0, tokens)
    ttfts = [run["ttft_s"] for run in result["runs"] if run["ttft_s"] is not None]
    result["ttft_max_s"] = max(ttfts) if ttfts else None
    result["rss_mb"] = proc_memory().get("rss_mb")
    return result


# -- 4. app memory -------------------------------------------------------------


def answer_text(messages: list[Any]) -> str:
    """The answer's text in the chat returned by ``/ask`` (not the sources message)."""

    def text(content: Any) -> str:
        if isinstance(content, list):
            return "".join(text(part) for part in content)
        if isinstance(content, dict):
            return str(content.get("text") or content.get("content") or "")
        return str(content or "")

    replies = [
        text(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") == "assistant"
    ]
    replies = [r for r in replies if "nqa-sources" not in r]
    return replies[-1] if replies else ""


def bench_app(
    settings: Settings,
    store_dir: Path,
    work: Path,
    question: str = TYPICAL_QUESTION,
    timeout: float = 600,
) -> dict[str, Any]:
    """Start ``python app.py`` on a copy of ``store_dir``, ask once, read its memory.

    Args:
        settings: Base settings (``DATA_DIR`` is passed on; the LLM is the local one).
        store_dir: An ingested store; it is copied, not used.
        work: Temp folder for the copy and the app's log.
        question: The question asked through ``gradio_client``.
        timeout: Seconds to wait for start-up and for the answer.

    Returns:
        Start-up and answer times, VmRSS/VmHWM idle and after the answer.
    """
    from gradio_client import Client

    app_store = work / "store-app"
    shutil.copytree(store_dir, app_store, ignore=shutil.ignore_patterns(".write.lock"))
    port = free_port()
    env = child_env(
        settings,
        DATA_DIR=str(settings.data_dir),
        VECTORSTORE_DIR=str(app_store),
        LLM_PROVIDER="local",
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
    )
    url = f"http://127.0.0.1:{port}/"
    log_path = work / "app.log"
    result: dict[str, Any] = {"port": port, "log": str(log_path)}
    with log_path.open("w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "app.py")],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"app.py exited with {proc.returncode}; see {log_path}")
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"app.py did not answer on {url} in {timeout:.0f} s")
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.25)
            result["startup_s"] = round(time.perf_counter() - started, 2)
            idle = proc_memory(proc.pid)
            result["idle_rss_mb"] = idle.get("rss_mb")
            client = Client(url, verbose=False)
            started = time.perf_counter()
            messages, _ = client.predict(question, [], api_name="/ask")
            result["answer_s"] = round(time.perf_counter() - started, 2)
            after = proc_memory(proc.pid)
            result["rss_mb"] = after.get("rss_mb")
            result["hwm_mb"] = after.get("hwm_mb")
            result["answer_preview"] = answer_text(messages)[:120]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    return result


# -- targets, report, plot ---------------------------------------------------------


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Evaluate :data:`TARGETS` against ``results`` (missing figures are left out)."""
    view = dict(results)
    view["retrieval"] = {str(r["size"]): r for r in results.get("retrieval") or []}
    checks = []
    for key, label, op, goal in TARGETS:
        value = dig(view, key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        met = {
            "<": value < goal,
            ">=": value >= goal,
            "==": value == goal,
        }[op]
        checks.append(
            {"key": key, "label": label, "value": value, "goal": f"{op} {goal:g}", "met": bool(met)}
        )
    return checks


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]) -> list[str]:
    """A Markdown table; ``columns`` are ``(header, dotted key into each row)``."""
    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(dig(row, k)) for _, k in columns) + " |" for row in rows]
    return lines


TARGET_COLUMNS = [("Target", "label"), ("Measured", "value"), ("Goal", "goal"), ("Met", "mark")]
INGEST_STEPS = {
    "cold": "(a) cold, empty cache",
    "rerun": "(b) nothing changed",
    "edit": "(c) one file edited",
    "rebuild": "(d) rebuild, warm cache",
}
INGEST_COLUMNS = [
    ("Step", "name"),
    ("In-process s", "seconds"),
    ("Whole process s", "whole_s"),
    ("Chunks written", "chunks_written"),
    ("Embedded", "embedded"),
    ("From cache", "from_cache"),
    ("Model s", "embed_s"),
    ("Model share", "embed_share"),
    ("Chroma+cache s", "store_write_s"),
    ("BM25 sync s", "lexical_sync_s"),
    ("Other s", "overhead_s"),
]
RETRIEVAL_COLUMNS = [
    ("Chunks", "size"),
    ("Setup s", "setup_s"),
    ("BM25 sync s", "lexical_sync_s"),
    ("p50 ms", "p50_ms"),
    ("p95 ms", "p95_ms"),
    ("Query embed p50", "embed.p50_ms"),
    ("Vector p50", "vector.p50_ms"),
    ("BM25 p50", "bm25.p50_ms"),
    ("Other p50", "other.p50_ms"),
    ("RSS MB", "rss_mb"),
    ("ΔRSS MB", "rss_delta_mb"),
    ("Store MB", "store_mb"),
    ("Fresh open → 1st answer s", "fresh.to_first_answer_s"),
    ("BM25 load s", "fresh.lexical_load_s"),
    ("Re-tokenized", "fresh.retokenized"),
]
FRESH_COLUMNS = [
    ("Chunks", "size"),
    ("BM25 load s", "fresh.lexical_load_s"),
    ("Chroma open s", "fresh.chroma_open_s"),
    ("Postings build s", "fresh.postings_build_s"),
    ("Model load s", "fresh.embed_model_load_s"),
    ("1st query s", "fresh.first_query_s"),
    ("2nd query s", "fresh.second_query_s"),
    ("RSS MB", "fresh.rss_mb"),
]
LLM_COLUMNS = [
    ("Run", "run"),
    ("Sources s", "sources_s"),
    ("TTFT s", "ttft_s"),
    ("Prefill s", "prefill_s"),
    ("Prompt tokens", "prompt_tokens"),
    ("Tokens", "tokens"),
    ("Tokens/s", "tokens_per_s"),
    ("Total s", "total_s"),
    ("Refused", "refused"),
]
THREAD_COLUMNS = [
    ("OMP_NUM_THREADS", "omp_num_threads"),
    ("p50 ms", "p50_ms"),
    ("p95 ms", "p95_ms"),
    ("Mean ms", "mean_ms"),
]
APP_COLUMNS = [
    ("Start-up s", "startup_s"),
    ("Answer s", "answer_s"),
    ("RSS idle MB", "idle_rss_mb"),
    ("RSS after MB", "rss_mb"),
    ("Peak RSS (VmHWM) MB", "hwm_mb"),
]


def render_markdown(results: dict[str, Any]) -> str:
    """The results as Markdown: targets first, then one table per measurement."""
    meta = results["meta"]
    lines = [
        "# notes-qa benchmark",
        "",
        f"{meta['date']} · {meta['cpus']} CPUs · Python {meta['python']} · "
        f"embeddings `{meta['embedding_backend']}` · chunk {meta['chunk_size']}/"
        f"{meta['chunk_overlap']} · top-k {meta['top_k']} · fetch-k {meta['fetch_k']} · "
        f"load average {meta['load_start']} → {meta.get('load_end')} · "
        f"commit {meta['commit']}",
        "",
        "Load average (1/5/15 min) when each part started: "
        + ", ".join(f"{k} {v}" for k, v in meta.get("load_by_step", {}).items()),
        "",
        "## Targets",
        "",
    ]
    targets = [t | {"mark": "✅" if t["met"] else "❌"} for t in results.get("targets", [])]
    lines += _table(TARGET_COLUMNS, targets)
    ingest = results.get("ingest")
    if ingest:
        cli = ingest.get("cli", {})
        rows = [
            ingest[key]
            | {
                "name": name,
                "whole_s": dig(cli, f"{key}.wall_s"),
                "overhead_s": round(ingest[key]["other_s"] + ingest[key]["reset_s"], 3),
            }
            for key, name in INGEST_STEPS.items()
        ]
        cold = ingest["cold"]
        lines += [
            "",
            f"## Ingest ({ingest['files']} files, {ingest['data_mb']} MB, {cold['chunks']} "
            f"chunks; embedding model loaded beforehand in {ingest['embed_model_load_s']} s)",
            "",
            *_table(INGEST_COLUMNS, rows),
            "",
            f"Cold: {_fmt(cold['chunks_per_s'])} chunks/s overall, "
            f"{_fmt(cold['embed_chunks_per_s'])} chunks/s inside the model, "
            f"{_fmt(cold['rest_s'])} s outside it.",
        ]
        if cli:
            lines.append(
                f"Whole process: `python -c 'import rag.cli.ingest'` alone takes "
                f"{_fmt(cli['import_s'])} s; re-run {_fmt(dig(cli, 'rerun.wall_s'))} s of which "
                f"the command reports {_fmt(dig(cli, 'rerun.reported_s'))} s; rebuild "
                f"{_fmt(dig(cli, 'rebuild.wall_s'))} s (reports "
                f"{_fmt(dig(cli, 'rebuild.reported_s'))} s)."
            )
    retrieval = results.get("retrieval")
    if retrieval:
        lines += [
            "",
            "## Retrieval (HybridRetriever.search; synthetic corpus; ms unless noted)",
            "",
            *_table(RETRIEVAL_COLUMNS, retrieval),
            "",
            "Fresh process opening the store, step by step (s):",
            "",
            *_table(FRESH_COLUMNS, retrieval),
        ]
    if results.get("query_embedding"):
        lines += [
            "",
            "Query embedding alone (raw questions, one fresh process per setting):",
            "",
            *_table(THREAD_COLUMNS, results["query_embedding"]),
        ]
    llm = results.get("llm") or {}
    if "runs" in llm:
        lines += [
            "",
            f"## Local LLM ({llm['model']}, {llm['threads']} threads; model load "
            f"{llm['load_s']} s, +{llm['rss_model_delta_mb']} MB RSS; warm-up "
            f"{llm.get('warm_up_s')} s)",
            "",
            *_table(LLM_COLUMNS, [r | {"run": i + 1} for i, r in enumerate(llm["runs"])]),
        ]
    elif llm:
        lines += ["", f"## Local LLM: {llm.get('error') or 'skipped'}"]
    app = results.get("app") or {}
    if "hwm_mb" in app:
        lines += [
            "",
            "## App (`python app.py`, one question over gradio_client)",
            "",
            *_table(APP_COLUMNS, [app]),
        ]
    elif app:
        lines += ["", f"## App: {app.get('error') or 'skipped'}"]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Write a PNG: retrieval latency vs corpus size, ingest bars, LLM bars if measured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    llm_runs = (results.get("llm") or {}).get("runs")
    panels = 3 if llm_runs else 2
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.6))
    ax = axes[0]
    retrieval = results.get("retrieval") or []
    if retrieval:
        sizes = [r["size"] for r in retrieval]
        ax.plot(sizes, [r["p50_ms"] for r in retrieval], "o-", label="search p50")
        ax.plot(sizes, [r["p95_ms"] for r in retrieval], "o--", label="search p95")
        for part, style in (("embed", ":"), ("vector", ":"), ("bm25", ":")):
            ax.plot(
                sizes,
                [r[part]["p50_ms"] for r in retrieval],
                "s" + style,
                ms=4,
                label=f"{part} p50",
            )
        ax.scatter(
            [10_000, 100_000], [30, 150], marker="*", s=140, c="red", zorder=5, label="p50 target"
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.set_xlabel("corpus size (chunks)")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Retrieval latency")
    ax.grid(True, which="both", alpha=0.3)

    ax = axes[1]
    ingest = results.get("ingest")
    if ingest:
        steps = ["cold", "rerun", "edit", "rebuild"]
        labels = ["(a) cold", "(b) unchanged", "(c) 1 file edited", "(d) rebuild"]
        x = np.arange(len(steps))
        model = np.array([ingest[s]["embed_s"] for s in steps])
        store = np.array([ingest[s]["store_write_s"] for s in steps])
        lexical = np.array([ingest[s]["lexical_sync_s"] for s in steps])
        other = np.array([ingest[s]["other_s"] + ingest[s]["reset_s"] for s in steps])
        width = 0.38
        bottom = np.zeros(len(steps))
        for values, name in (
            (model, "embedding model"),
            (store, "Chroma + cache"),
            (lexical, "BM25 sync"),
            (other, "other"),
        ):
            ax.bar(x - width / 2, values, width, bottom=bottom, label=name)
            bottom += values
        cli = ingest.get("cli") or {}
        whole = [cli.get(s, {}).get("wall_s", 0) if s in ("rerun", "rebuild") else 0 for s in steps]
        ax.bar(x + width / 2, whole, width, color="grey", alpha=0.6, label="whole CLI process")
        for xi, (a, b) in enumerate(zip(bottom, whole, strict=True)):
            ax.text(xi - width / 2, a, f"{a:.1f}", ha="center", va="bottom", fontsize=8)
            if b:
                ax.text(xi + width / 2, b, f"{b:.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, labels)
        ax.set_yscale("symlog", linthresh=1)
        ax.legend(fontsize=8)
    ax.set_ylabel("seconds")
    ax.set_title("Ingest of the notes")
    ax.grid(True, axis="y", alpha=0.3)

    if llm_runs:
        ax = axes[2]
        names = ["sources", "TTFT", "total"]
        x = np.arange(len(names))
        width = 0.8 / len(llm_runs)
        for i, run in enumerate(llm_runs):
            values = [run["sources_s"], run["ttft_s"] or 0, run["total_s"]]
            ax.bar(
                x + (i - (len(llm_runs) - 1) / 2) * width,
                values,
                width,
                label=f"run {i + 1} ({run['tokens_per_s'] or 0:.1f} tok/s)",
            )
        ax.axhline(12, color="red", ls="--", lw=1, label="TTFT target")
        ax.set_xticks(x, names)
        ax.set_ylabel("seconds")
        ax.set_title(f"Local LLM (load {results['llm']['load_s']:.1f} s)")
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def run_bench(
    settings: Settings,
    out_dir: Path,
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    skip_llm: bool = False,
    skip_app: bool = False,
    cli: bool = True,
    isolate: bool = True,
    n_questions: int = 50,
    questions_file: Path = DEFAULT_QUESTIONS,
    keep_temp: bool = False,
) -> dict[str, Any]:
    """Run every measurement and write ``bench.json``, ``bench.md`` and ``bench.png``.

    Args:
        settings: Base settings; ``data_dir`` is read, ``vectorstore_dir`` is never used.
        out_dir: Where the three files go (created).
        sizes: Retrieval corpus sizes in chunks.
        skip_llm: Skip the local-LLM measurement.
        skip_app: Skip the app-memory measurement.
        cli: Time whole ``python -m rag.ingest`` processes too.
        isolate: One spawned process per retrieval size.
        n_questions: Questions timed per size.
        questions_file: JSON Lines with a ``question`` per line.
        keep_temp: Keep the temp folder (its path is logged).

    Returns:
        The results, as written to ``bench.json``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="notes-qa-bench-"))
    logger.info("working in %s", work)
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "commit": _git_commit(),
            "load_start": load_average(),
            "embedding_backend": settings.embedding_backend,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "top_k": settings.top_k,
            "fetch_k": settings.fetch_k,
            "answer_passage_tokens": settings.answer_passage_tokens,
            "llm_threads": settings.llm_threads or os.cpu_count(),
            "sizes": list(sizes),
            "questions": n_questions,
            "data_dir": str(settings.data_dir),
        }
    }
    loads: dict[str, list[float] | None] = {}
    results["meta"]["load_by_step"] = loads
    started = time.perf_counter()
    try:
        loads["ingest"] = load_average()
        ingest, kb = bench_ingest(settings, work, cli=cli)
        results["ingest"] = ingest
        questions = read_questions(questions_file)
        if sizes:
            loads["retrieval"] = load_average()
            pool_texts, pool_vectors = pool_from_store(kb)
            results["meta"]["pool_chunks"] = len(pool_texts)
            results["retrieval"] = bench_retrieval(
                settings,
                work,
                sizes,
                pool_texts,
                pool_vectors,
                questions,
                isolate=isolate,
                n_questions=n_questions,
            )
            if isolate and settings.embedding_backend == "e5":
                loads["query_embedding"] = load_average()
                logger.info("query embedding: default threads vs OMP_NUM_THREADS=1")
                results["query_embedding"] = bench_query_threads(settings, questions[:n_questions])
        if skip_llm:
            results["llm"] = {"skipped": True}
        else:
            loads["llm"] = load_average()
            try:
                results["llm"] = bench_llm(kb)
            except Exception as exc:  # report and go on
                logger.exception("LLM measurement failed")
                results["llm"] = {"error": f"{type(exc).__name__}: {exc}"}
        if skip_app:
            results["app"] = {"skipped": True}
        else:
            store = Path(ingest.get("cli", {}).get("store_dir") or kb.settings.vectorstore_dir)
            loads["app"] = load_average()
            try:
                results["app"] = bench_app(settings, store, work)
            except Exception as exc:
                logger.exception("app measurement failed")
                results["app"] = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        if keep_temp:
            logger.info("kept %s", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["meta"]["load_end"] = load_average()
    results["meta"]["bench_s"] = round(time.perf_counter() - started, 1)
    results["targets"] = check_targets(results)
    (out_dir / "bench.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=2, default=float), encoding="utf-8"
    )
    (out_dir / "bench.md").write_text(render_markdown(results), encoding="utf-8")
    try:
        plot(results, out_dir / "bench.png")
    except ImportError:
        logger.warning("no bench.png: matplotlib is missing (pip install -r requirements-dev.txt)")
    return results


def parse_sizes(text: str) -> list[int]:
    """``"1000,10k,1e5"`` → ``[1000, 10000, 100000]``."""
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        factor = 1000 if part.endswith("k") else 1
        value = int(float(part.rstrip("k")) * factor)
        if value < 1:
            raise argparse.ArgumentTypeError(f"bad size {part!r}")
        sizes.append(value)
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[1]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--quick", action="store_true", help="sizes 1k,10k only")
    parser.add_argument("--skip-llm", action="store_true", help="no local-LLM measurement")
    parser.add_argument("--skip-app", action="store_true", help="no app-memory measurement")
    parser.add_argument("--sizes", type=parse_sizes, default=None, help="e.g. 1000,10000,100000")
    parser.add_argument("--questions", type=int, default=50, help="timed questions per size")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temp folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables.

    Returns:
        The exit code (0; targets that are missed do not fail the run).
    """
    from rag.cli.common import setup_logging

    args = parse_args(argv)
    setup_logging(args.verbose)
    logger.setLevel(logging.INFO)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    results = run_bench(
        get_settings(),
        args.out,
        sizes=sizes,
        skip_llm=args.skip_llm,
        skip_app=args.skip_app,
        n_questions=args.questions,
        keep_temp=args.keep_temp,
    )
    print(render_markdown(results))
    print(f"wrote {args.out / 'bench.json'}, {args.out / 'bench.md'}, {args.out / 'bench.png'}")
    return 0


if __name__ == "__main__":
    from rag.cli.common import run_cli

    run_cli(main)
