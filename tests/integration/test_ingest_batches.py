"""A file with more chunks than one Chroma write takes, ingested into real Chroma on disk."""

from __future__ import annotations

from rag.models.fakes import FakeEmbeddings
from rag.store.knowledge_base import KnowledgeBase
from tests.helpers import ingest


def test_file_with_more_chunks_than_one_chroma_batch(settings, data_dir, add_fixture):
    small = settings.model_copy(update={"chunk_size": 50, "chunk_overlap": 40})
    kb = KnowledgeBase(small, embeddings=FakeEmbeddings())
    n_chunks = kb.client.get_max_batch_size() + 1
    # Paragraphs of 28+ chars: two never fit in one 50-char chunk, so one chunk each.
    paragraphs = (
        f"第{i}段：检索增强生成先从知识库检索相关片段再交给模型。" for i in range(n_chunks)
    )
    (data_dir / "book.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    add_fixture("bom_note.txt")

    report = ingest(kb)
    assert {f.source: (f.status, f.chunks) for f in report.files} == {
        "book.txt": ("added", n_chunks),
        "bom_note.txt": ("added", 7),
    }
    assert kb.chunk_count() == n_chunks + 7
