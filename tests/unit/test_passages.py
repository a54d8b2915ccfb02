"""Finding a stored passage again: in a note, in a section, on a PDF page."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest.passages import Excerpt, Span, excerpt, line_span, locate, section_at
from rag.ingest.pdf_pages import PageError, PageRenderer
from tests.helpers import FIXTURES

TEXT = "第一行。\n注意力机制让模型关注相关部分。\n第三行。"


def test_the_passage_is_found_at_its_offset_then_anywhere() -> None:
    assert locate(TEXT, "注意力机制让模型关注相关部分。", 5) == Span(5, 20)
    assert locate(TEXT, "注意力机制让模型关注相关部分。", 0) == Span(5, 20)  # the note moved
    assert locate(TEXT, "  注意力机制  ") == Span(5, 10)


def test_spacing_and_line_breaks_do_not_hide_the_passage() -> None:
    page = "向量数据库保存\r\n文本 片段的嵌入向量。\r\n下一段。"
    span = locate(page, "向量数据库保存文本片段的嵌入向量。")
    assert span == Span(0, 20) and page[span.start : span.end].endswith("向量。")


def test_a_passage_extracted_differently_is_found_by_its_first_and_last_words() -> None:
    page = "前言。检索增强生成先从知识库中找出相关片段，再交给大模型生成答案。后记。"
    stored = "检索增强生成先从知识库中找出片段，再交给大模型生成答案。"
    span = locate(page, stored)
    assert span is not None and page[span.start : span.end] == page[3:-3]


def test_a_passage_that_is_not_there_is_not_found() -> None:
    assert locate(TEXT, "多头注意力把表示拆成多个子空间。") is None
    assert locate(TEXT, "") is None


def test_a_table_chunk_is_found_by_its_first_row_and_row_count() -> None:
    text = "表 1\n特征\tRAG\t微调\n可解释性\t高\t低\n延迟\t高\t低\n成本\t低\t高\n"
    start = text.index("可解释性")
    assert (
        text[slice(*vars(line_span(text, start, 2)).values())] == "可解释性\t高\t低\n延迟\t高\t低"
    )
    assert line_span(text, text.index("成本"), 5) == Span(text.index("成本"), len(text) - 1)
    assert line_span(text, len(text), 1) is None


def test_the_section_holding_an_offset() -> None:
    sections = [("A", 0, "a" * 10), ("B", 10, "b" * 5), ("C", 15, "c" * 5)]
    assert section_at(sections, 0) == 0
    assert section_at(sections, 12) == 1
    assert section_at(sections, 19) == 2
    assert section_at(sections, 20) is None


def test_an_excerpt_keeps_whole_lines_around_the_passage() -> None:
    text = "\n".join(f"第{i}行的内容。" for i in range(40))
    start = text.index("第20行")
    got = excerpt(text, Span(start, start + 8), 30)
    assert got.passage == "第20行的内容。"
    assert got.before.startswith("第17行") and got.after.endswith("第23行的内容。")
    assert got.cut_before and got.cut_after
    assert excerpt("短。", Span(0, 2), 30) == Excerpt("", "短。", "")
    assert excerpt("x" * 100, None, 10) == Excerpt("x" * 20, "", "", cut_after=True)


def test_a_pdf_page_is_rendered_with_the_passage_highlighted(tmp_path: Path) -> None:
    renderer = PageRenderer(tmp_path)
    pdf = FIXTURES / "multipage.pdf"
    page = renderer.render(pdf, 3, "第三页讲的是向量数据库。")
    assert page.highlighted and page.pages == 3 and page.image.exists()
    assert page.top is not None and 0.03 < page.top < 0.1  # the first line, near the top
    assert page.text.startswith("第三页讲的是向量数据库。\n")
    assert renderer.render(pdf, 3, "第三页讲的是向量数据库。") == page  # cached
    assert not renderer.render(pdf, 1, "第三页讲的是向量数据库。").highlighted
    with pytest.raises(PageError, match="no page 9"):
        renderer.render(pdf, 9, "x")
    with pytest.raises(PageError, match="not a readable PDF"):
        renderer.render(FIXTURES / "corrupt.pdf", 1, "x")
