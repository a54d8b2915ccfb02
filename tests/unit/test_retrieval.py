"""The BM25 index (persistence, ranking) and the hybrid retriever."""

from __future__ import annotations

import logging
import pickle
import zipfile
from collections import Counter

import numpy as np
import pytest

import rag.store.lexical
from rag.models.fakes import FakeEmbeddings
from rag.retrieval.hybrid import HybridRetriever
from rag.store.knowledge_base import KnowledgeBase
from rag.store.lexical import LexicalIndex
from tests.helpers import FIXTURES, ingest

CORPUS = ["gbk_note.txt", "bom_note.txt", "headings.md", "multipage.pdf"]


@pytest.fixture
def ingested(kb, add_fixture):
    for name in CORPUS:
        add_fixture(name)
    ingest(kb)
    return kb


def test_bm25_ranks_exact_keyword_chunk_first():
    index = LexicalIndex()
    index.add(
        [
            ("vec", "向量数据库保存文本片段的嵌入向量，并支持近似最近邻搜索。"),
            ("rrf", "倒数排名融合用于合并多个排序结果。"),
            ("lora", "LoRA 通过低秩矩阵近似权重更新。"),
        ]
    )
    hits = index.search("低秩矩阵", 3)
    assert [chunk_id for chunk_id, _ in hits] == ["lora"]
    assert hits[0][1] > 0
    assert index.search("倒数排名融合", 1)[0][0] == "rrf"
    assert index.search("完全无关的问题xyz", 3) == []


def test_bm25_through_the_store(ingested):
    hits = ingested.lexical_ready().search("稀疏注意力 滑动窗口", 5)
    texts = ingested.fetch_texts([chunk_id for chunk_id, _ in hits])
    assert "稀疏注意力、滑动窗口" in texts[hits[0][0]]
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_lexical_index_reloads_without_tokenizing_chunks(ingested, settings, monkeypatch):
    saved_ids = ingested.lexical.ids
    assert saved_ids == set(ingested.store_ids())
    assert (settings.vectorstore_dir / "lexical.npz").is_file()

    seen: list[str] = []
    real_tokenize = rag.store.lexical.tokenize

    def counting_tokenize(text: str) -> list[str]:
        seen.append(text)
        return real_tokenize(text)

    monkeypatch.setattr(rag.store.lexical, "tokenize", counting_tokenize)

    fresh = KnowledgeBase(settings, embeddings=FakeEmbeddings())
    index = fresh.lexical_ready()
    assert index.ids == saved_ids
    assert seen == []
    hits = index.search("低秩矩阵", 3)
    assert seen == ["低秩矩阵"]
    assert "LoRA 通过低秩矩阵近似权重更新。" in fresh.fetch_texts([hits[0][0]])[hits[0][0]]


def test_lexical_index_is_rebuilt_from_store_when_file_is_lost(ingested, settings):
    (settings.vectorstore_dir / "lexical.npz").unlink()
    fresh = KnowledgeBase(settings, embeddings=FakeEmbeddings())
    assert fresh.lexical_ready().ids == set(ingested.store_ids())
    assert (settings.vectorstore_dir / "lexical.npz").is_file()


NOTES = [
    ("vec", "向量数据库保存文本片段的嵌入向量（embedding），并支持近似最近邻搜索。"),
    ("rrf", "倒数排名融合（reciprocal rank fusion）用于合并多个排序结果。"),
    (
        "lora",
        "LoRA 通过低秩矩阵近似权重更新，是一种参数高效微调（parameter-efficient fine-tuning）。",
    ),
    ("attn", "注意力机制让模型关注输入中相关的词元；多头注意力并行计算多组注意力。"),
    ("empty", "。。。"),
]
QUERIES = ["低秩矩阵", "注意力 词元", "向量数据库 embedding", "排序 融合", "微调 LoRA 参数", "xyz"]


def fixture_notes() -> list[tuple[str, str]]:
    """The NOTES plus every paragraph of the text fixtures: a few dozen chunks."""
    notes = list(NOTES)
    for name in ("bom_note.txt", "headings.md"):
        text = (FIXTURES / name).read_text(encoding="utf-8-sig")
        notes += [(f"{name}#{i}", p) for i, p in enumerate(text.split("\n\n")) if p.strip()]
    return notes


def all_results(index: LexicalIndex) -> list:
    return [index.search(q, 10) for q in QUERIES] + [index.doc_freq(t) for t in ("注意力", "lora")]


def test_saved_index_loads_without_rebuilding_and_answers_identically(tmp_path, monkeypatch):
    path = tmp_path / "lexical.npz"
    built = LexicalIndex(path)
    assert built.add(fixture_notes()) == len(fixture_notes())
    built.save()
    expected = all_results(built)
    assert "lora" in dict(expected[0]) and expected[-1] >= 1 and expected[-2] >= 2

    def no_rebuild(self):
        raise AssertionError("postings rebuilt after load")

    monkeypatch.setattr(LexicalIndex, "_build", no_rebuild)
    loaded = LexicalIndex(path)
    assert loaded.load()
    assert all_results(loaded) == expected  # same ids, same float scores, same order
    assert loaded.ids == built.ids and len(loaded) == len(built)
    assert loaded.glossary() == built.glossary()
    assert loaded.glossary()["reciprocal rank fusion"] == ["倒数排名融合"]
    with np.load(path, allow_pickle=False) as npz:  # plain arrays, nothing pickled
        assert int(npz["version"]) == rag.store.lexical.FORMAT_VERSION
        assert all(npz[name].dtype != object for name in npz.files)


def test_changes_after_load_match_an_index_built_from_scratch(tmp_path):
    notes = dict(fixture_notes())
    path = tmp_path / "lexical.npz"
    first = LexicalIndex(path)
    first.add(notes.items())
    first.save()

    index = LexicalIndex(path)
    assert index.load()
    assert index.remove(["rrf", "nope", "bom_note.txt#0"]) == 2
    index.add([("attn", "注意力 注意力 低秩"), ("new", "倒数排名融合 低秩矩阵 新的笔记")])
    assert len(index) == len(notes) - 1
    assert "rrf" not in index.ids and {"attn", "new"} <= index.ids

    # Survivors keep their order, a replaced chunk keeps its place, new ones come last.
    final = {k: v for k, v in notes.items() if k not in ("rrf", "bom_note.txt#0")}
    final["attn"] = "注意力 注意力 低秩"
    final["new"] = "倒数排名融合 低秩矩阵 新的笔记"
    scratch = LexicalIndex()
    scratch.add(final.items())
    assert all_results(index) == all_results(scratch)
    assert index.glossary() == scratch.glossary()
    assert "reciprocal rank fusion" not in index.glossary()

    index.save()
    reloaded = LexicalIndex(path)
    assert reloaded.load()
    assert all_results(reloaded) == all_results(scratch)
    assert reloaded.remove(list(reloaded.ids)) == len(final)
    assert len(reloaded) == 0 and reloaded.search("低秩矩阵", 5) == []


def test_every_term_is_scored_like_okapi_bm25():
    index = LexicalIndex()
    index.add(NOTES)
    tokens = {i: Counter(rag.store.lexical.tokenize(t)) for i, t in NOTES}
    avgdl = np.float32(np.mean([c.total() for c in tokens.values()], dtype=np.float32))
    terms = {t for c in tokens.values() for t in c if rag.store.lexical.tokenize(t) == [t]}
    assert len(terms) > 20
    for term in terms:
        df = sum(term in c for c in tokens.values())
        idf = np.log(1 + (len(NOTES) - df + 0.5) / (df + 0.5))
        expected = {
            i: idf * c[term] * 2.5 / (c[term] + 1.5 * (0.25 + 0.75 * c.total() / avgdl))
            for i, c in tokens.items()
            if term in c
        }
        got = dict(index.search(term, len(NOTES)))
        assert got.keys() == expected.keys(), term
        assert all(got[i] == pytest.approx(expected[i], rel=1e-5) for i in got), term


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "lexical.npz"
    index = LexicalIndex(path)
    index.add(NOTES[:2])
    index.save()
    before = path.read_bytes()
    index.add(NOTES[2:])

    def broken_savez(fh, **arrays):
        fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        index.save()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["lexical.npz"]  # no temp file left


def npz_with(path, **changes):
    """Rewrite a saved index with some arrays replaced."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays.update(changes)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize(
    "damage",
    ["truncated", "garbage", "old_pickle", "old_version", "bad_postings", "not_ours"],
)
def test_unreadable_index_file_is_reported_and_not_used(tmp_path, caplog, damage):
    path = tmp_path / "lexical.npz"
    index = LexicalIndex(path)
    index.add(NOTES)
    index.save()
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    elif damage == "old_pickle":
        payload = {"version": 2, "tf": {"a": Counter(["低秩"])}, "pairs": {}}
        path.write_bytes(pickle.dumps(payload))
    elif damage == "old_version":
        npz_with(path, version=np.array(2))
    elif damage == "bad_postings":
        npz_with(path, docs=np.full(3, 99, dtype=np.int32), freqs=np.ones(3, np.float32))
    else:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("other.npy", b"")
    fresh = LexicalIndex(path)
    with caplog.at_level(logging.WARNING, logger="rag.store.lexical"):
        assert fresh.load() is False
    assert "unreadable" in caplog.text and "it will be rebuilt" in caplog.text
    assert len(fresh) == 0 and fresh.search("低秩矩阵", 3) == []
    assert not fresh.stale_on_disk()  # not re-read on every query


def test_store_rebuilds_an_unreadable_index(ingested, settings, monkeypatch):
    path = settings.vectorstore_dir / "lexical.npz"
    expected = ingested.lexical_ready().search("低秩矩阵 稀疏注意力", 5)
    path.write_bytes(path.read_bytes()[:1000])
    tokenized: list[str] = []
    real_tokenize = rag.store.lexical.tokenize
    monkeypatch.setattr(
        rag.store.lexical, "tokenize", lambda t: tokenized.append(t) or real_tokenize(t)
    )

    fresh = KnowledgeBase(settings, embeddings=FakeEmbeddings())
    assert fresh.lexical.ids == set()
    index = fresh.lexical_ready()
    assert len(tokenized) == ingested.chunk_count()  # rebuilt from the store's texts
    assert index.ids == set(ingested.store_ids())
    assert index.search("低秩矩阵 稀疏注意力", 5) == expected
    assert LexicalIndex(path).load()


def test_hybrid_retriever_returns_ranked_chunks(ingested):
    retriever = HybridRetriever.from_kb(ingested, k=4)
    docs = retriever.invoke("LoRA 低秩矩阵")
    assert [d.metadata["rank"] for d in docs] == [1, 2, 3, 4]
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    assert len({d.id for d in docs}) == 4
    assert all(d.id == d.metadata["id"] for d in docs)
    for doc in docs:
        assert doc.metadata["source"] in CORPUS
        assert isinstance(doc.metadata["chunk_index"], int)
    assert "LoRA 通过低秩矩阵近似权重更新。" in docs[0].page_content
    assert docs[0].metadata["heading"] == "大模型微调 > LoRA > 低秩分解"
    assert len(retriever.search("LoRA", k=2)) == 2


def test_search_reads_the_store_in_three_requests_at_most(ingested, monkeypatch):
    retriever = HybridRetriever.from_kb(ingested, k=3)
    expected = retriever.search("LoRA 低秩矩阵")
    collection = ingested.collection
    calls: list[tuple[str, dict]] = []
    for name in ("query", "get"):
        real = getattr(collection, name)

        def spy(*args, _name=name, _real=real, **kwargs):
            calls.append((_name, kwargs))
            return _real(*args, **kwargs)

        monkeypatch.setattr(collection, name, spy)

    docs = retriever.search("LoRA 低秩矩阵")
    assert [(d.id, d.page_content, d.metadata) for d in docs] == [
        (d.id, d.page_content, d.metadata) for d in expected
    ]
    # The vector query returns ids and distances only; then the candidates' texts
    # are read once, and the vectors of the candidates BM25 alone found.
    assert [name for name, _ in calls][:2] == ["query", "get"] and len(calls) <= 3
    assert calls[0][1]["include"] == ["distances"] and calls[0][1]["n_results"] == 40
    assert calls[1][1]["include"] == ["documents", "metadatas"]
    assert {d.id for d in docs} <= set(calls[1][1]["ids"])
    if len(calls) == 3:
        assert calls[2][1]["include"] == ["embeddings"]


def test_query_tokens_are_tokenize_with_a_cache(monkeypatch):
    index = LexicalIndex()
    query = "What is LoRA 低秩矩阵 微调？"
    assert index.query_tokens(query) == rag.store.lexical.tokenize(query)
    seen: list[str] = []
    real_tokenize = rag.store.lexical.tokenize
    monkeypatch.setattr(rag.store.lexical, "tokenize", lambda t: seen.append(t) or real_tokenize(t))
    index.add(NOTES)
    seen.clear()
    index.search("LoRA 低秩矩阵 参数高效微调", 3)
    assert seen == ["参数高效微调"]  # the other parts were tokenized above
    index.search("LoRA 低秩矩阵 参数高效微调", 3)
    assert seen == ["参数高效微调"]


def test_retriever_on_empty_store_returns_nothing(kb):
    assert HybridRetriever.from_kb(kb).search("什么是 LoRA？") == []


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_blank_query_returns_nothing(ingested, query):
    assert HybridRetriever.from_kb(ingested).search(query) == []


def test_cjk_share_counts_token_occurrences():
    index = LexicalIndex()
    assert index.cjk_share() == 0.0
    index.add([("a", "transformer attention transformer"), ("b", "注意力机制")])
    tokens = index.query_tokens("transformer attention transformer 注意力机制")
    chinese = sum(1 for t in tokens if not t.isascii())
    assert index.cjk_share() == chinese / len(tokens)
    index.remove(["a"])
    assert index.cjk_share() == 1.0
