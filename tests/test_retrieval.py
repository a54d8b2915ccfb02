"""RRF fusion, the BM25 index (persistence, ranking) and the hybrid retriever."""

from __future__ import annotations

import pytest
from conftest import ingest

import rag.lexical
from rag.embeddings import FakeEmbeddings
from rag.knowledge_base import KnowledgeBase
from rag.lexical import LexicalIndex
from rag.retrieval import HybridRetriever, rrf_fuse

CORPUS = ["gbk_note.txt", "bom_note.txt", "headings.md", "multipage.pdf"]


@pytest.fixture
def ingested(kb, add_fixture):
    for name in CORPUS:
        add_fixture(name)
    ingest(kb)
    return kb


def test_rrf_fuse_exact_scores():
    fused = rrf_fuse([["a", "b", "c"], ["c", "a"]], [1.0, 1.0], k=60)
    assert fused == [("a", 1 / 61 + 1 / 62), ("c", 1 / 63 + 1 / 61), ("b", 1 / 62)]


def test_rrf_fuse_weights_and_ties():
    assert rrf_fuse([["x"], ["y"]], [2.0, 0.5], k=1) == [("x", 1.0), ("y", 0.25)]
    assert rrf_fuse([["p", "q"], ["q", "p"]], [1.0, 1.0], k=10) == [
        ("p", 1 / 11 + 1 / 12),
        ("q", 1 / 12 + 1 / 11),
    ]
    assert rrf_fuse([[], []], [1.0, 1.0]) == []


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
    assert (settings.vectorstore_dir / "lexical.pkl").is_file()

    seen: list[str] = []
    real_tokenize = rag.lexical.tokenize

    def counting_tokenize(text: str) -> list[str]:
        seen.append(text)
        return real_tokenize(text)

    monkeypatch.setattr(rag.lexical, "tokenize", counting_tokenize)

    fresh = KnowledgeBase(settings, embeddings=FakeEmbeddings())
    index = fresh.lexical_ready()
    assert index.ids == saved_ids
    assert seen == []
    hits = index.search("低秩矩阵", 3)
    assert seen == ["低秩矩阵"]
    assert "LoRA 通过低秩矩阵近似权重更新。" in fresh.fetch_texts([hits[0][0]])[hits[0][0]]


def test_lexical_index_is_rebuilt_from_store_when_file_is_lost(ingested, settings):
    (settings.vectorstore_dir / "lexical.pkl").unlink()
    fresh = KnowledgeBase(settings, embeddings=FakeEmbeddings())
    assert fresh.lexical_ready().ids == set(ingested.store_ids())
    assert (settings.vectorstore_dir / "lexical.pkl").is_file()


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


def test_retriever_on_empty_store_returns_nothing(kb):
    assert HybridRetriever.from_kb(kb).search("什么是 LoRA？") == []


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_blank_query_returns_nothing(ingested, query):
    assert HybridRetriever.from_kb(ingested).search(query) == []
