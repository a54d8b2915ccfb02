"""Benchmark 1: ingest of the notes (cold, re-run, one file edited, rebuild, whole process)."""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import EDIT_PARAGRAPH, child_env, dir_mb, with_paths
from rag.config import Settings
from rag.ingest.pipeline import Ingestor, IngestReport, collect_files
from rag.store.knowledge_base import KnowledgeBase

logger = logging.getLogger("benchmarks")


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
