"""Ingest into real Chroma on disk with fake embeddings: incremental, failures, metadata."""

from __future__ import annotations

import logging
import sys
import threading
import types
from pathlib import Path

import pytest

import rag.ingest.pipeline
from rag.config import Settings
from rag.ingest.loaders import LoaderError, ParseLimits, load_file
from rag.ingest.pipeline import Ingestor
from rag.ingest.splitter import split_documents
from rag.models.embeddings import build_embeddings
from rag.models.fakes import FakeEmbeddings
from rag.store.chroma import MODEL_KEY, EmbeddingModelMismatch
from rag.store.knowledge_base import KnowledgeBase
from tests.helpers import FIXTURES, ids_by_source, ingest, snapshot

CORPUS = ["gbk_note.txt", "bom_note.txt", "headings.md", "multipage.pdf"]
OLD_SENTENCE = "位置编码为模型提供词元的顺序信息。"
NEW_SENTENCE = "位置编码告诉模型每个词元在序列里的先后。"


@pytest.fixture
def corpus(add_fixture) -> list[Path]:
    return [add_fixture(name) for name in CORPUS]


def expected_chunks(settings: Settings, path: Path, source: str):
    return split_documents(load_file(path, source), settings.chunk_size, settings.chunk_overlap)


def chroma_chunks(kb: KnowledgeBase, source: str) -> list[tuple[str, dict]]:
    got = kb.collection.get(where={"source": source}, include=["documents", "metadatas"])
    pairs = list(zip(got["documents"], got["metadatas"], strict=True))
    return sorted(pairs, key=lambda p: p[1]["chunk_index"])


def assert_lexical_in_step(kb: KnowledgeBase) -> None:
    assert kb.lexical.ids == set(kb.store_ids())
    reloaded = KnowledgeBase(kb.settings, embeddings=FakeEmbeddings()).lexical
    assert reloaded.ids == kb.lexical.ids


def test_first_run_adds_all_second_run_embeds_nothing(kb, settings, corpus):
    fake = kb.embeddings.inner
    n_expected = sum(len(expected_chunks(settings, p, p.name)) for p in corpus)
    assert n_expected > len(corpus)  # several files have more than one chunk

    first = ingest(kb)
    assert [(f.source, f.status) for f in first.files] == [(n, "added") for n in sorted(CORPUS)]
    assert first.total("added") == kb.chunk_count() == n_expected
    assert first.ok
    assert_lexical_in_step(kb)
    calls = fake.calls
    before = snapshot(kb)

    second = ingest(kb)
    assert [f.status for f in second.files] == ["unchanged"] * len(CORPUS)
    assert second.total("added") == 0
    assert second.total("skipped") == n_expected
    assert fake.calls == calls
    assert snapshot(kb) == before


def test_edit_changes_only_that_files_chunks(kb, corpus, data_dir):
    ingest(kb)
    before = ids_by_source(kb)
    calls = kb.embeddings.inner.calls
    bom = data_dir / "bom_note.txt"
    bom.write_text(bom.read_text(encoding="utf-8-sig").replace(OLD_SENTENCE, NEW_SENTENCE))

    report = ingest(kb)
    statuses = {f.source: f.status for f in report.files}
    assert statuses == {
        "bom_note.txt": "updated",
        "gbk_note.txt": "unchanged",
        "headings.md": "unchanged",
        "multipage.pdf": "unchanged",
    }
    after = ids_by_source(kb)
    assert after.keys() == before.keys()
    for source in ("gbk_note.txt", "headings.md", "multipage.pdf"):
        assert after[source] == before[source]
    assert after["bom_note.txt"] != before["bom_note.txt"]
    assert kb.embeddings.inner.calls == calls + 2  # the edited chunk, then its new sentence
    texts = kb.collection.get(include=["documents"])["documents"]
    assert not any(OLD_SENTENCE in t for t in texts)
    assert sum(NEW_SENTENCE in t for t in texts) >= 1
    assert set(kb.record_manager.list_keys(group_ids=["bom_note.txt"])) == after["bom_note.txt"]
    assert_lexical_in_step(kb)


def test_deleted_file_loses_exactly_its_chunks(kb, corpus, data_dir):
    ingest(kb)
    before = ids_by_source(kb)
    (data_dir / "headings.md").unlink()

    report = ingest(kb)
    deleted = [f for f in report.files if f.status == "deleted"]
    assert [(f.source, f.deleted) for f in deleted] == [("headings.md", len(before["headings.md"]))]
    after = ids_by_source(kb)
    assert after == {s: ids for s, ids in before.items() if s != "headings.md"}
    assert kb.record_manager.list_keys(group_ids=["headings.md"]) == []
    assert "headings.md" not in {f.source for f in kb.record_manager.files()}
    assert_lexical_in_step(kb)


def test_rebuild_starts_clean(kb, settings, corpus, add_fixture, tmp_path):
    ingest(kb)
    stray = add_fixture("gbk_note.txt", dest=tmp_path / "elsewhere")
    ingest(kb, stray)  # a source outside the data dir, which the rebuild must drop
    assert len(ids_by_source(kb)) == len(CORPUS) + 1

    report = ingest(kb, rebuild=True)
    assert [f.status for f in report.files] == ["added"] * len(CORPUS)

    fresh = KnowledgeBase(
        settings.model_copy(update={"vectorstore_dir": tmp_path / "fresh"}),
        embeddings=FakeEmbeddings(),
    )
    ingest(fresh)
    assert snapshot(kb) == snapshot(fresh)
    assert_lexical_in_step(kb)


@pytest.mark.parametrize(
    ("bad_name", "explicit", "message"),
    [
        ("corrupt.pdf", False, "corrupt.pdf: not a readable PDF (corrupt or truncated file)"),
        ("empty.txt", False, "empty.txt: the file is empty"),
        ("notes.docx", True, "notes.docx: unsupported file type '.docx'"),
    ],
)
def test_bad_file_fails_alone_and_leaves_no_trace(
    kb, settings, add_fixture, data_dir, tmp_path, bad_name, explicit, message
):
    add_fixture("gbk_note.txt")
    add_fixture("headings.md")
    ingest(kb)
    add_fixture("multipage.pdf")  # a new good file, ingested in the same run as the bad one
    reference = KnowledgeBase(
        settings.model_copy(update={"vectorstore_dir": tmp_path / "reference"}),
        embeddings=FakeEmbeddings(),
    )
    ingest(reference)

    if bad_name == "notes.docx":
        bad = data_dir / bad_name
        bad.write_bytes(b"PK\x03\x04 a word file")
    else:
        bad = add_fixture(bad_name)
    report = ingest(kb, data_dir, bad) if explicit else ingest(kb)

    statuses = {f.source: f.status for f in report.files}
    assert statuses == {
        "gbk_note.txt": "unchanged",
        "headings.md": "unchanged",
        "multipage.pdf": "added",
        bad_name: "failed",
    }
    (failed,) = report.failed
    assert failed.error.startswith(message)
    assert snapshot(kb) == snapshot(reference)


@pytest.mark.parametrize(
    ("name", "broken_with", "reason"),
    [
        ("multipage.pdf", "corrupt.pdf", "not a readable PDF"),
        ("gbk_note.txt", "empty.txt", "the file is empty"),
        ("gbk_note.txt", "binary.txt", "binary content"),
    ],
)
def test_file_that_becomes_unreadable_keeps_old_chunks(
    kb, corpus, data_dir, name, broken_with, reason
):
    ingest(kb)
    before = snapshot(kb)
    (data_dir / name).write_bytes((FIXTURES / broken_with).read_bytes())

    report = ingest(kb)
    (failed,) = report.failed
    assert failed.source == name
    assert reason in failed.error
    assert snapshot(kb) == before


def test_other_embedding_model_is_refused_until_rebuild(kb, settings, corpus):
    ingest(kb)
    n_chunks = kb.chunk_count()
    other = FakeEmbeddings()
    other.model_id = "fake/another-model"

    stale = KnowledgeBase(settings, embeddings=other)
    with pytest.raises(EmbeddingModelMismatch) as err:
        stale.vectorstore  # noqa: B018 - opening is what raises
    assert "fake/hashing-64" in str(err.value)
    assert "fake/another-model" in str(err.value)
    assert "python -m rag.ingest --rebuild" in str(err.value)
    with pytest.raises(EmbeddingModelMismatch, match="--rebuild"):
        ingest(KnowledgeBase(settings, embeddings=other))

    rebuilt = KnowledgeBase(settings, embeddings=other)
    ingest(rebuilt, rebuild=True)
    assert rebuilt.chunk_count() == n_chunks
    assert rebuilt.collection.metadata[MODEL_KEY] == "fake/another-model"


class _StubHF(FakeEmbeddings):
    """Stands in for HuggingFaceEmbeddings: no model is loaded."""

    def __init__(self, model_name: str, **kwargs: object) -> None:
        super().__init__()
        self.model_name = model_name


def test_sentence_transformer_folders_with_same_name_are_different_models(
    monkeypatch, settings, corpus, tmp_path
):
    module = types.ModuleType("langchain_huggingface")
    module.HuggingFaceEmbeddings = _StubHF
    monkeypatch.setitem(sys.modules, "langchain_huggingface", module)
    folders = [tmp_path / "vendor_a" / "model", tmp_path / "vendor_b" / "model"]
    for number, folder in enumerate(folders):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(f'{{"model": {number}}}')
    st = [
        settings.model_copy(
            update={"embedding_backend": "sentence-transformers", "embedding_model_path": f}
        )
        for f in folders
    ]
    model_a, model_b = (build_embeddings(s) for s in st)
    assert model_a.model_name == str(folders[0])

    ingest(KnowledgeBase(st[0], embeddings=model_a))
    with pytest.raises(EmbeddingModelMismatch):
        KnowledgeBase(st[1], embeddings=model_b).vectorstore  # noqa: B018


def test_missing_paths_are_reported_as_missing(kb, data_dir, tmp_path):
    report = ingest(kb, data_dir / "typo.txt", tmp_path / "no_such_folder")
    assert [f.error for f in report.failed] == [
        "typo.txt: no such file or folder",
        f"{(tmp_path / 'no_such_folder').as_posix()}: no such file or folder",
    ]


def test_file_outside_data_dir_gets_absolute_source(kb, add_fixture, tmp_path):
    outside = add_fixture("bom_note.txt", dest=tmp_path / "elsewhere")
    report = ingest(kb, outside)
    absolute = outside.resolve().as_posix()
    assert absolute.startswith("/")
    assert [(f.source, f.status) for f in report.files] == [(absolute, "added")]
    assert set(ids_by_source(kb)) == {absolute}


def test_metadata_of_gbk_markdown_and_pdf(kb, settings, add_fixture, data_dir):
    add_fixture("gbk_note.txt", dest=data_dir / "sub")
    add_fixture("headings.md", dest=data_dir / "sub")
    add_fixture("multipage.pdf")
    report = ingest(kb)
    assert {f.source: f.pages for f in report.files} == {
        "multipage.pdf": 2,
        "sub/gbk_note.txt": 0,
        "sub/headings.md": 0,
    }
    for source in ("sub/gbk_note.txt", "sub/headings.md", "multipage.pdf"):
        stored = chroma_chunks(kb, source)
        expected = expected_chunks(settings, data_dir / source, source)
        assert stored == [(c.page_content, c.metadata) for c in expected]
        assert [m["chunk_index"] for _, m in stored] == list(range(len(stored)))

    gbk = chroma_chunks(kb, "sub/gbk_note.txt")
    text = (data_dir / "sub/gbk_note.txt").read_bytes().decode("gbk")
    for chunk, meta in gbk:
        assert set(meta) == {"source", "chunk_index", "start_index", "heading", "title"}
        assert meta["title"] == "注意力机制学习笔记"
        assert text[meta["start_index"] : meta["start_index"] + len(chunk)] == chunk
    assert "自注意力机制让每个词元都能关注序列中的其他词元。" in "".join(c for c, _ in gbk)

    md = chroma_chunks(kb, "sub/headings.md")
    (lora,) = [m for c, m in md if "LoRA 通过低秩矩阵近似权重更新。" in c]
    assert lora["heading"] == "大模型微调 > LoRA > 低秩分解"
    md_text = (data_dir / "sub/headings.md").read_text(encoding="utf-8")
    for chunk, meta in md:
        assert md_text[meta["start_index"] : meta["start_index"] + len(chunk)] == chunk

    pdf = chroma_chunks(kb, "multipage.pdf")
    assert sorted({m["page"] for _, m in pdf}) == [1, 3]
    assert all(set(m) == {"source", "page", "chunk_index", "start_index", "title"} for _, m in pdf)
    assert pdf[0][1]["start_index"] == 0
    assert pdf[0][0].startswith("第一页讲的是检索增强生成。")


# -- parsing the next file while the current one is embedded ------------------


class GatedEmbeddings(FakeEmbeddings):
    """Embedding of the first file waits until the loader of the second file has started."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate
        self.overlapped: bool | None = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.overlapped is None:
            self.overlapped = self.gate.wait(timeout=10)  # no overlap: False after 10 s
        return super().embed_documents(texts)


@pytest.fixture
def gated(settings, data_dir, add_fixture, monkeypatch):
    """Three notes, 1.txt · 2.pdf · 3.md; a loader spy whose start on 2.pdf opens the gate."""
    add_fixture("gbk_note.txt", as_name="1.txt")
    add_fixture("multipage.pdf", as_name="2.pdf")
    add_fixture("headings.md", as_name="3.md")
    gate = threading.Event()
    loads: list[tuple[str, str]] = []
    failures: dict[str, Exception] = {}
    real_load = rag.ingest.pipeline.load_file

    def spy_load(path: Path, source: str, limits: ParseLimits | None = None):
        loads.append((source, threading.current_thread().name))
        if source == "2.pdf":
            gate.set()
        if source in failures:
            raise failures[source]
        return real_load(path, source, limits)

    monkeypatch.setattr(rag.ingest.pipeline, "load_file", spy_load)
    embeddings = GatedEmbeddings(gate)
    base = KnowledgeBase(settings, embeddings=embeddings)
    yield types.SimpleNamespace(kb=base, embeddings=embeddings, loads=loads, failures=failures)
    base.record_manager.close()


def test_next_file_is_parsed_while_the_current_one_is_embedded(gated):
    events: list[tuple[str, object]] = []
    report = Ingestor(gated.kb, progress=lambda e, p: events.append((e, p))).ingest()
    assert gated.embeddings.overlapped is True
    assert [(f.source, f.status) for f in report.files] == [
        ("1.txt", "added"),
        ("2.pdf", "added"),
        ("3.md", "added"),
    ]
    assert [p for e, p in events if e == "file"] == report.files
    # each file read once, all in the prefetch thread (never again in the caller)
    assert [s for s, _ in gated.loads] == ["1.txt", "2.pdf", "3.md"]
    assert all(name.startswith("ingest-prefetch") for _, name in gated.loads)
    assert sorted(ids_by_source(gated.kb)) == ["1.txt", "2.pdf", "3.md"]
    assert_lexical_in_step(gated.kb)

    gated.loads.clear()
    again = ingest(gated.kb)
    assert [f.status for f in again.files] == ["unchanged"] * 3
    assert gated.loads == []  # unchanged files are not parsed


def test_prefetched_load_failure_is_reported_for_its_own_file(gated, settings, caplog):
    gated.failures["2.pdf"] = LoaderError("2.pdf: not a readable PDF (corrupt or truncated file)")
    with caplog.at_level(logging.INFO, logger="rag.ingest.pipeline"):
        report = ingest(gated.kb)
    assert gated.embeddings.overlapped is True
    assert [(f.source, f.status, f.error) for f in report.files] == [
        ("1.txt", "added", None),
        ("2.pdf", "failed", "2.pdf: not a readable PDF (corrupt or truncated file)"),
        ("3.md", "added", None),
    ]
    assert report.files[0].added > 0 and report.files[2].added > 0
    assert "2.pdf: not a readable PDF (corrupt or truncated file)" in caplog.messages
    assert sorted(ids_by_source(gated.kb)) == ["1.txt", "3.md"]
    assert [f.source for f in gated.kb.record_manager.files()] == ["1.txt", "3.md"]


def test_unexpected_error_in_a_prefetched_load_stops_at_that_file(gated):
    gated.failures["2.pdf"] = RuntimeError("parser bug")
    events: list[tuple[str, object]] = []
    with pytest.raises(RuntimeError, match="parser bug"):
        Ingestor(gated.kb, progress=lambda e, p: events.append((e, p))).ingest()
    assert [(p.source, p.status) for e, p in events if e == "file"] == [("1.txt", "added")]
    assert sorted(ids_by_source(gated.kb)) == ["1.txt"]
    assert [s for s, _ in gated.loads] == ["1.txt", "2.pdf"]  # 3.md never read


def test_stale_sources_are_new_edited_and_deleted_notes(kb, settings, corpus, data_dir):
    from rag.services import NotesQA

    service = NotesQA(kb)
    assert sorted(service.stale_sources()) == sorted(p.name for p in corpus)
    ingest(kb)
    assert service.stale_sources() == []
    (data_dir / "gbk_note.txt").unlink()
    (data_dir / "new.md").write_text("# 新笔记\n\n新的一段内容，足够长了。\n", encoding="utf-8")
    assert sorted(service.stale_sources()) == ["gbk_note.txt", "new.md"]
