"""The persistent embedding cache: no text is embedded twice by the same model."""

from __future__ import annotations

from rag.models.fakes import FakeEmbeddings
from rag.store.embedding_cache import EmbeddingCache
from rag.store.knowledge_base import KnowledgeBase
from tests.helpers import ingest, snapshot

NOTE = "检索增强生成先检索后生成。微调是继续训练模型参数。\n" * 3


def test_rebuild_with_warm_cache_embeds_nothing(settings, data_dir):
    (data_dir / "a.txt").write_text(NOTE, encoding="utf-8")
    first = KnowledgeBase(settings, embeddings=FakeEmbeddings())
    ingest(first)
    before = snapshot(first)
    assert first.embeddings.embedded > 0
    second = KnowledgeBase(settings, embeddings=FakeEmbeddings())
    ingest(second, rebuild=True)
    assert second.embeddings.inner.calls == 0
    assert second.embeddings.cached == len(before["chroma"])
    assert snapshot(second)["chroma"] == before["chroma"]


def test_same_text_in_two_files_is_embedded_once(kb, data_dir):
    (data_dir / "a.txt").write_text("同一段落出现在两个文件里。", encoding="utf-8")
    (data_dir / "b.txt").write_text("同一段落出现在两个文件里。", encoding="utf-8")
    ingest(kb)
    assert kb.embeddings.embedded == 1
    assert kb.embeddings.cached == 1
    assert kb.chunk_count() == 2


def test_cache_is_per_model(tmp_path):
    path = tmp_path / "cache.sqlite3"
    EmbeddingCache(path, "model-a").put_many(["文本"], [[0.5, 0.25]])
    assert EmbeddingCache(path, "model-a").get_many(["文本", "别的"]) == [[0.5, 0.25], None]
    assert EmbeddingCache(path, "model-b").get_many(["文本"]) == [None]


def test_cache_can_be_turned_off(settings, data_dir):
    (data_dir / "a.txt").write_text(NOTE, encoding="utf-8")
    off = settings.model_copy(update={"embedding_cache": False})
    ingest(KnowledgeBase(off, embeddings=FakeEmbeddings()))
    again = KnowledgeBase(off, embeddings=FakeEmbeddings())
    ingest(again, rebuild=True)
    assert again.embeddings.inner.calls > 0
    assert not (settings.vectorstore_dir / "embedding_cache.sqlite3").exists()
