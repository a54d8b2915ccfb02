"""Splitter: chunk sizes, overlap, numbering, offsets, whole short sentences."""

from __future__ import annotations

import itertools
import re

import pytest
from langchain_core.documents import Document

from rag.ingest.loaders import load_file
from rag.ingest.splitter import split_documents
from tests.helpers import FIXTURES

SIZES = [(50, 40), (80, 40), (120, 40), (200, 60), (360, 80)]

# One long paragraph of short sentences (10..17 chars), so neighbours can overlap.
SHORT_SENTENCES = "".join(f"第{i}句讲{'检索向量嵌入重排'[: 2 + i % 7]}的要点。" for i in range(40))


def source_text(name: str) -> str:
    docs = load_file(FIXTURES / name, name)
    return "".join(d.page_content for d in docs)


@pytest.mark.parametrize(("size", "overlap"), SIZES)
@pytest.mark.parametrize("name", ["gbk_note.txt", "bom_note.txt", "headings.md"])
def test_chunks_fit_are_numbered_and_point_into_the_text(name, size, overlap):
    docs = load_file(FIXTURES / name, name)
    text = source_text(name)
    chunks = split_documents(docs, size, overlap)
    assert len(chunks) >= 1
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert 0 < len(chunk.page_content) <= size
        start = chunk.metadata["start_index"]
        assert text[start : start + len(chunk.page_content)] == chunk.page_content
        assert chunk.metadata["source"] == name
        assert "offset" not in chunk.metadata


@pytest.mark.parametrize(("size", "overlap"), SIZES)
@pytest.mark.parametrize("name", ["gbk_note.txt", "bom_note.txt", "headings.md"])
def test_short_sentences_are_never_split(name, size, overlap):
    text = source_text(name)
    sentences = [s.strip() for s in re.findall(r"[^。！？\n]+[。！？]", text)]
    short = [s for s in sentences if len(s) < 40]
    assert len(short) >= 2
    docs = load_file(FIXTURES / name, name)
    chunks = [c.page_content for c in split_documents(docs, size, overlap)]
    assert [s for s in short if not any(s in c for c in chunks)] == []


@pytest.mark.parametrize(("size", "overlap"), [(60, 40), (120, 40), (200, 60)])
def test_neighbouring_chunks_overlap(size, overlap):
    doc = Document(page_content=SHORT_SENTENCES, metadata={"source": "s.txt", "offset": 0})
    chunks = split_documents([doc], size, overlap)
    assert len(chunks) >= 3
    for left, right in itertools.pairwise(chunks):
        left_end = left.metadata["start_index"] + len(left.page_content)
        shared = left_end - right.metadata["start_index"]
        assert 0 < shared <= overlap
        assert left.page_content[-shared:] == right.page_content[:shared]
    sentences = re.findall(r"[^。]+。", SHORT_SENTENCES)
    for sentence in sentences:
        assert any(sentence in c.page_content for c in chunks)


def test_pdf_chunks_keep_page_and_count_across_pages():
    docs = load_file(FIXTURES / "multipage.pdf", "multipage.pdf")
    chunks = split_documents(docs, 50, 40)
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))
    assert {c.metadata["page"] for c in chunks} == {1, 3}
    for chunk in chunks:
        page_text = docs[[d.metadata["page"] for d in docs].index(chunk.metadata["page"])]
        start = chunk.metadata["start_index"]
        assert page_text.page_content[start : start + len(chunk.page_content)] == chunk.page_content
