"""Loaders: encodings, Markdown headings, PDF pages, garbled-font fallback, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from rag.ingest.loaders import LoaderError, is_garbled, load_file
from rag.ingest.splitter import split_documents
from rag.ingest.structure import markdown_sections
from tests.helpers import FIXTURES


def load(name: str):
    return load_file(FIXTURES / name, name)


def test_gbk_text_decodes():
    (doc,) = load("gbk_note.txt")
    assert doc.page_content.startswith("注意力机制学习笔记\n\n注意力机制的核心思想是：")
    assert "自注意力机制让每个词元都能关注序列中的其他词元。" in doc.page_content
    assert doc.metadata == {
        "source": "gbk_note.txt",
        "offset": 0,
        "heading": "注意力机制学习笔记",  # a short first line above longer text
        "title": "注意力机制学习笔记",
    }


def test_utf8_bom_and_crlf():
    raw = (FIXTURES / "bom_note.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the fixture is what we test
    (doc,) = load("bom_note.txt")
    assert doc.page_content.startswith("位置编码笔记\n\nTransformer 本身")
    assert "\ufeff" not in doc.page_content
    assert "\r" not in doc.page_content
    assert "位置编码为模型提供词元的顺序信息。" in doc.page_content


def test_markdown_heading_paths():
    docs = load("headings.md")
    assert [d.metadata["heading"] for d in docs] == [
        "大模型微调",
        "大模型微调 > LoRA",
        "大模型微调 > LoRA > 低秩分解",
        "大模型微调 > 全参数微调",
    ]
    chunks = split_documents(docs, chunk_size=120, chunk_overlap=40)
    hits = [c for c in chunks if "LoRA 通过低秩矩阵近似权重更新。" in c.page_content]
    assert len(hits) == 1
    assert hits[0].metadata["heading"] == "大模型微调 > LoRA > 低秩分解"


def test_markdown_ignores_headings_in_code_fences():
    text = "# 标题\n\n正文。\n\n```python\n# 不是标题\nx = 1\n```\n\n## 小节\n\n内容。\n"
    sections = markdown_sections(text)
    assert [(h, text[o : o + len(s)] == s) for h, o, s in sections] == [
        ("标题", True),
        ("标题 > 小节", True),
    ]
    assert "# 不是标题" in sections[0][2]


def test_multipage_pdf_skips_empty_page():
    docs = load("multipage.pdf")
    assert [d.metadata["page"] for d in docs] == [1, 3]
    assert ["".join(d.page_content.split()) for d in docs] == [
        "第一页讲的是检索增强生成。检索增强生成先从知识库中找出相关片段，再把片段和问题一起交给大模型生成答案。",
        "第三页讲的是向量数据库。向量数据库保存文本片段的嵌入向量，并支持近似最近邻搜索。",
    ]
    assert all(d.metadata["source"] == "multipage.pdf" for d in docs)


def test_garbled_pdf_falls_back_to_pdfium():
    pypdf_pages = [p.extract_text() for p in PdfReader(str(FIXTURES / "garbled.pdf")).pages]
    assert len(pypdf_pages) == 2
    for text in pypdf_pages:  # pypdf alone gives garbage: no CJK at all
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in text)
        assert is_garbled(text)
    docs = load("garbled.pdf")
    assert [(d.metadata["page"], d.page_content.strip()) for d in docs] == [
        (1, "混合检索结合了关键词检索与向量检索。"),
        (2, "倒数排名融合用于合并多个排序结果。"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "自注意力机制让每个词元都能关注序列中的其他词元。",
        "Retrieval-augmented generation combines a retriever with a generator.",
        "损失 L(N,D) = E + A/N^α + B/D^β，其中 C ≈ 6ND，∑ x² ≤ ∫ f(x) dx。",
        "第 3 章：Transformer（2017）— 多头注意力、残差连接；“层归一化”。",
    ],
)
def test_is_garbled_false_for_normal_text(text):
    assert not is_garbled(text)


@pytest.mark.parametrize(
    "text",
    [
        # What PDFs made by Word / LaTeX (unicode-math) extract for equations.
        "二次函数 𝑓(𝑥)=𝑎𝑥²+𝑏𝑥+𝑐",
        "设 𝑥 ∈ ℝⁿ，则 ‖𝑥‖₂ = √(∑ᵢ 𝑥ᵢ²)",
    ],
)
def test_is_garbled_false_for_unicode_math(text):
    assert not is_garbled(text)


def test_is_garbled_true_for_raw_glyph_ids():
    assert is_garbled("\u085fކࠁ෬ކࢲਔ\u086fܱՍ\u085f෬აཟਈ")


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("scanned.pdf", ["no text layer", "OCR"]),
        ("corrupt.pdf", ["not a readable PDF", "corrupt"]),
        ("encrypted.pdf", ["encrypted", "password"]),
        ("empty.txt", ["empty"]),
        ("binary.txt", ["binary content"]),
    ],
)
def test_unreadable_files_raise(name, words):
    with pytest.raises(LoaderError) as err:
        load(name)
    message = str(err.value)
    assert message.startswith(f"{name}: ")
    for word in words:
        assert word in message


def test_unsupported_type_raises(tmp_path: Path):
    path = tmp_path / "notes.docx"
    path.write_bytes(b"PK\x03\x04 not really a docx")
    with pytest.raises(LoaderError) as err:
        load_file(path, "notes.docx")
    assert str(err.value).startswith("notes.docx: unsupported file type '.docx'")
    assert ".md, .pdf, .txt" in str(err.value)
