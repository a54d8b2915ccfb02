"""The page as a student uses it, in Chromium at phone and desktop sizes (fake models)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

Serve = Callable[..., tuple[str, Any]]


def _ready(page: Any, sync_api: Any, url: str) -> Any:
    page.goto(url)
    sync_api.expect(page.locator("#nqa-status")).to_contain_text("2 个文件 files", timeout=60_000)
    return page.locator("#nqa-question textarea")


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_the_page_fits_the_screen_with_an_answer_on_it(
    serve: Serve,
    open_page: Callable[..., Any],
    sync_api: Any,
    artifacts: Path,
    width: int,
    height: int,
) -> None:
    url, _ = serve(delay=0.0)
    page = open_page(width, height)
    box = _ready(page, sync_api, url)
    box.fill("什么是注意力机制？")
    box.press("Enter")
    answer = page.locator("#nqa-chat [data-testid='bot']").first
    sync_api.expect(answer).to_contain_text("[1]", timeout=30_000)
    page.locator("#nqa-chat .nqa-source summary").first.click()
    page.screenshot(path=str(artifacts / f"page-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    toggle = page.get_by_role("button", name="Toggle Sidebar").bounding_box()
    title_left = page.evaluate(
        "(() => { const r = document.createRange();"
        " r.selectNodeContents(document.querySelector('#nqa-header h1'));"
        " return r.getBoundingClientRect().left; })()"
    )
    assert title_left >= toggle["x"] + toggle["width"]  # the title is not under the toggle
    for name in ("发送 Send", "停止 Stop"):
        button = page.get_by_role("button", name=name).bounding_box()
        assert button["x"] >= 0 and button["x"] + button["width"] <= width, name


def test_a_question_typed_during_an_answer_is_kept_and_sent_after_it(
    serve: Serve, page: Any, sync_api: Any
) -> None:
    url, _ = serve(delay=0.1)
    box = _ready(page, sync_api, url)
    box.fill("什么是注意力机制？")
    box.press("Enter")
    sync_api.expect(page.locator("#nqa-chat .nqa-sources")).to_have_count(1)
    box.press_sequentially("下一个问题：什么是", delay=60)
    time.sleep(1.0)  # the answer streams on meanwhile
    assert box.input_value() == "下一个问题：什么是"
    answer = page.locator("#nqa-chat [data-testid='bot']").first
    assert not answer.inner_text().endswith("。")  # still streaming
    box.press("Enter")
    users = page.locator("#nqa-chat [data-testid='user']")
    sync_api.expect(users).to_have_count(2, timeout=60_000)
    sync_api.expect(users.nth(1)).to_have_text("下一个问题：什么是")
    assert answer.inner_text().endswith("。")  # the first answer was finished first
    sync_api.expect(box).to_have_value("")


def test_the_wait_for_the_first_words_is_counted_in_seconds(
    serve: Serve, page: Any, sync_api: Any
) -> None:
    url, _ = serve(first_delay=3.5, delay=0.0)
    box = _ready(page, sync_api, url)
    box.fill("什么是注意力机制？")
    box.press("Enter")
    answer = page.locator("#nqa-chat [data-testid='bot']").first
    sync_api.expect(answer).to_contain_text("Writing the answer… 2 秒 · 2 s", timeout=10_000)
    sync_api.expect(answer).to_contain_text("根据笔记[1]", timeout=20_000)
    sync_api.expect(answer).not_to_contain_text("Writing the answer")


def test_an_example_question_from_the_headings_is_asked_with_one_click(
    serve: Serve, page: Any, sync_api: Any
) -> None:
    url, services = serve(delay=0.0)
    _ready(page, sync_api, url)
    assert services.example_questions() == ["什么是注意力机制？", "什么是多头注意力？"]
    page.locator("#nqa-chat button", has_text="什么是多头注意力？").click()
    sync_api.expect(page.locator("#nqa-chat [data-testid='user']")).to_have_text(
        "什么是多头注意力？"
    )
    answer = page.locator("#nqa-chat [data-testid='bot']").first
    sync_api.expect(answer).to_contain_text("[1]", timeout=30_000)


def test_a_conversation_survives_a_reload_and_reopens_from_the_sidebar(
    serve: Serve, page: Any, sync_api: Any, artifacts: Path
) -> None:
    url, _ = serve(delay=0.0)
    box = _ready(page, sync_api, url)
    users = page.locator("#nqa-chat [data-testid='user']")
    saved = page.locator("#nqa-conversations label")
    box.fill("什么是注意力机制？")
    box.press("Enter")
    sync_api.expect(saved).to_have_count(1, timeout=30_000)

    page.reload()
    sync_api.expect(users).to_have_text(["什么是注意力机制？"])
    sync_api.expect(page.locator("#nqa-chat .nqa-sources")).to_have_count(1)
    sync_api.expect(page.locator("#nqa-chat-title textarea, #nqa-chat-title input")).to_have_value(
        "什么是注意力机制？"
    )

    page.get_by_role("button", name="新对话 New chat").click()
    sync_api.expect(users).to_have_count(0)
    box.fill("LoRA 是什么？")
    box.press("Enter")
    sync_api.expect(saved).to_have_count(2, timeout=30_000)
    page.screenshot(path=str(artifacts / "sidebar.png"), full_page=True)
    saved.filter(has_text="什么是注意力机制？").click()
    sync_api.expect(users).to_have_text(["什么是注意力机制？"])
