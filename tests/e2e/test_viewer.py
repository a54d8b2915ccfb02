"""Citations a student can follow, in Chromium at phone and desktop sizes (fake models)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FIXTURES

pytestmark = pytest.mark.browser

Serve = Callable[..., tuple[str, Any]]

SCALING = (
    "# 缩放点积注意力\n\n## 为什么要缩放\n\n"
    "缩放点积注意力把分数除以 $\\sqrt{d_k}$，防止点积过大让 softmax 饱和。"
    "完整的公式是 $$\\mathrm{softmax}(QK^T/\\sqrt{d_k})V$$ 其中 $d_k$ 是键的维度。\n"
)
#: The fake model's answer: formulas inline, in \\( \\) and on a line of their own.
ANSWER = (
    "缩放点积注意力把分数除以 $\\sqrt{d_k}$[1]，其中 \\(d_k\\) 是键的维度。\n\n"
    "$$\\mathrm{softmax}(QK^T/\\sqrt{d_k})V$$[1]"
)
#: A long note whose one sentence about quantization is far down its only section.
LONG = "".join(f"第{i}段：这是一段填充内容，只用来把笔记撑长。\n" for i in range(80))
LONG += "模型量化把权重从十六位压缩到四位，显存占用大大减少。\n"
LONG += "".join(f"后记{i}：这是一段结尾的填充内容。\n" for i in range(20))
SIZES = [(390, 844), (1440, 900)]


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """The app's two notes plus a PDF and a note with formulas."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    shutil.copyfile(FIXTURES / "multipage.pdf", data / "rag.pdf")
    (data / "scaling.md").write_text(SCALING, encoding="utf-8")
    (data / "long.txt").write_text(LONG, encoding="utf-8")
    return data


def _ask(page: Any, sync_api: Any, url: str, question: str) -> Any:
    page.goto(url)
    status = page.locator("#nqa-status")
    sync_api.expect(status).to_contain_text("5 个文件 files", timeout=60_000)
    box = page.locator("#nqa-question textarea")
    box.fill(question)
    box.press("Enter")
    # The answer is done when its sources carry the copy text.
    sync_api.expect(page.locator("#nqa-chat .nqa-copy")).to_have_count(1, timeout=30_000)
    return page.locator("#nqa-chat [data-testid='bot']").first


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator("#nqa-viewer").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_citation_opens_its_passage_highlighted_in_its_section(
    serve: Serve,
    notes: Path,
    open_page: Callable[..., Any],
    sync_api: Any,
    artifacts: Path,
    width: int,
    height: int,
) -> None:
    url, _ = serve(delay=0.0, responses=[ANSWER])
    page = open_page(width, height)
    answer = _ask(page, sync_api, url, "为什么要除以 sqrt(d_k)？")
    assert answer.locator(".katex").count() == 3
    assert answer.locator(".katex-display").count() == 1
    answer.locator("a.nqa-cite", has_text="[1]").first.click()
    viewer = page.locator("#nqa-viewer")
    sync_api.expect(viewer.locator("mark.nqa-mark")).to_contain_text("防止点积过大")
    sync_api.expect(viewer.locator(".nqa-viewer-title")).to_have_text("📄 缩放点积注意力")
    sync_api.expect(viewer.locator(".nqa-viewer-meta")).to_have_text(
        "scaling.md · 缩放点积注意力 > 为什么要缩放"
    )
    assert viewer.locator("#nqa-viewer-body .katex").count() >= 2  # formulas render there too
    sync_api.expect(viewer.locator("#nqa-viewer-download")).to_contain_text("scaling.md")
    _fits(page, width)
    page.screenshot(path=str(artifacts / f"viewer-text-{width}x{height}.png"))
    page.locator("#nqa-viewer-close").click()
    sync_api.expect(viewer).to_be_hidden()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_pdf_source_opens_its_page_with_the_passage_highlighted(
    serve: Serve,
    notes: Path,
    open_page: Callable[..., Any],
    sync_api: Any,
    artifacts: Path,
    width: int,
    height: int,
) -> None:
    url, _ = serve(delay=0.0)
    page = open_page(width, height)
    _ask(page, sync_api, url, "向量数据库保存什么？")
    source = page.locator("#nqa-chat .nqa-source", has_text="rag.pdf").first
    source.locator("a.nqa-open").click()
    viewer = page.locator("#nqa-viewer")
    image = viewer.locator("#nqa-viewer-page img")
    sync_api.expect(image).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('#nqa-viewer-page img')?.naturalWidth > 1000"
    )
    sync_api.expect(viewer.locator(".nqa-viewer-meta")).to_contain_text("rag.pdf · 第 3 / 3 页")
    sync_api.expect(viewer.locator(".nqa-viewer-note")).to_contain_text("黄色高亮")
    sync_api.expect(viewer.locator("mark.nqa-mark")).to_contain_text("向量数据库保存文本片段")
    _fits(page, width)
    page.screenshot(path=str(artifacts / f"viewer-pdf-{width}x{height}.png"))


def test_the_viewer_scrolls_to_a_passage_far_down_its_section(
    serve: Serve, notes: Path, open_page: Callable[..., Any], sync_api: Any
) -> None:
    url, _ = serve(delay=0.0)
    page = open_page(390, 844)
    _ask(page, sync_api, url, "模型量化把权重压缩成什么？")
    page.locator("#nqa-chat .nqa-source", has_text="long.txt").first.locator("a.nqa-open").click()
    mark = page.locator("#nqa-viewer mark.nqa-mark")
    sync_api.expect(mark).to_contain_text("模型量化把权重从十六位压缩到四位")
    page.wait_for_function("() => document.querySelector('#nqa-viewer').scrollTop > 200")
    box = mark.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844


def test_uncited_sources_are_folded_and_copy_gives_text_with_citations(
    serve: Serve, notes: Path, browser: Any, sync_api: Any
) -> None:
    url, _ = serve(delay=0.0, responses=[ANSWER])
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    answer = _ask(page, sync_api, url, "为什么要除以 sqrt(d_k)？")
    sources = page.locator("#nqa-chat .nqa-sources")
    sync_api.expect(sources.locator(".nqa-other > summary")).to_contain_text("其他来源 Other")
    assert sources.locator(".nqa-other").get_attribute("open") is None
    assert sources.locator(":scope > .nqa-source").count() == 1  # only [1] is cited
    answer.hover()
    page.locator("#nqa-chat .message-buttons button[aria-label='Copy message']").last.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "<div" not in copied and "<a" not in copied
    assert copied == ANSWER + "\n\n[1] 缩放点积注意力 · 为什么要缩放 (scaling.md)"
    context.close()
