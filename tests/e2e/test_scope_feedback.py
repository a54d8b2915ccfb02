"""A scope chosen in the page, and a 👎 with a reason, in Chromium at phone and desktop sizes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

Serve = Callable[..., tuple[str, Any]]


def _pick(page: Any, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option).click()
    page.keyboard.press("Escape")


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_a_scope_picked_in_the_selector_is_applied_and_a_thumbs_down_takes_a_reason(
    serve: Serve,
    open_page: Callable[..., Any],
    sync_api: Any,
    artifacts: Path,
    width: int,
    height: int,
) -> None:
    expect = sync_api.expect
    url, services = serve(delay=0.0)
    page = open_page(width, height)
    page.goto(url)
    expect(page.locator("#nqa-status")).to_contain_text("2 个文件 files", timeout=60_000)
    note = page.locator("#nqa-scope-note")
    expect(note).to_be_hidden()

    page.locator("#nqa-scope > button.label-wrap").click()
    _pick(page, "#nqa-scope-sources", "注意力机制 (attention.md)")
    _pick(page, "#nqa-scope-heading", "注意力机制 > 多头注意力")
    expect(note).to_have_text(
        "🎯 只在 《注意力机制》 › 多头注意力 中查找 · Searching only 注意力机制 › 多头注意力"
    )
    box = page.locator("#nqa-question textarea")
    box.fill("注意力机制和 LoRA")
    box.press("Enter")
    answer = page.locator("#nqa-chat [data-testid='bot']").first
    expect(answer).to_contain_text("[1]", timeout=30_000)
    expect(page.locator("#nqa-chat .nqa-where")).to_have_text(["注意力机制 · 多头注意力"])
    page.screenshot(path=str(artifacts / f"scope-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    (chat,) = services.conversations("")
    assert services.conversation_scope(chat.id, "") == {
        "source": ["attention.md"],
        "heading": "注意力机制 > 多头注意力",
    }

    page.locator("#nqa-chat button[aria-label='踩']").first.click()
    form = page.locator("#nqa-feedback-send")  # the form is shown and hidden as one
    expect(form).to_be_visible()
    page.locator("#nqa-feedback-reason textarea, #nqa-feedback-reason input").fill("少了 LoRA")
    page.locator("#nqa-feedback-expected textarea").fill("LoRA 只训练低秩矩阵。")
    page.screenshot(path=str(artifacts / f"feedback-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("#nqa-feedback-send").click()
    expect(form).to_be_hidden()
    (rating,) = services.ratings()
    assert (rating.rating, rating.question, rating.reason, rating.expected) == (
        "down", "注意力机制和 LoRA", "少了 LoRA", "LoRA 只训练低秩矩阵。"
    )  # fmt: skip
    assert [p["source"] for p in rating.passages] == ["attention.md"]

    page.locator("#nqa-scope-clear").click()
    expect(note).to_be_hidden()
    assert services.conversation_scope(chat.id, "") == {}


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_a_long_conversation_opens_at_its_last_turns_with_its_scope_and_keeps_them_all(
    serve: Serve,
    open_page: Callable[..., Any],
    sync_api: Any,
    artifacts: Path,
    width: int,
    height: int,
) -> None:
    from rag.web.app import OPEN_TURNS
    from rag.web.render import history_pairs, message_text, sources_html

    expect = sync_api.expect
    url, services = serve(delay=0.0)
    chat: list[Any] = []
    for turn in range(1, 201):
        chat += [
            {"role": "user", "content": f"第{turn}个问题"},
            {"role": "assistant", "content": f"回答{turn}"},
            {"role": "assistant", "content": sources_html([])},
        ]
    chat_id = services.new_conversation("", "两百轮的对话")
    services.save_conversation(chat_id, "", chat, 200)
    services.save_conversation_scope(chat_id, "", {"source": ["lora.txt"]})
    page = open_page(width, height)
    page.goto(url)
    expect(page.locator("#nqa-status")).to_contain_text("2 个文件 files", timeout=60_000)
    if width < 1100:  # the sidebar starts closed on a phone
        page.locator("#nqa-sidebar .toggle-button").click()
    page.locator("#nqa-conversations label", has_text="两百轮的对话").click()
    users = page.locator("#nqa-chat [data-testid='user']")
    expect(users).to_have_count(OPEN_TURNS)
    expect(users.last).to_have_text("第200个问题")
    expect(page.locator("#nqa-scope-note")).to_contain_text("🎯 只在 《LoRA 是一种参数高效微调方法")
    show_all = page.locator("#nqa-show-all")
    expect(show_all).to_be_visible()
    if width < 1100:
        page.locator("#nqa-sidebar .toggle-button").click()
    box = page.locator("#nqa-question textarea")
    box.fill("LoRA 是什么？")
    box.press("Enter")
    expect(users).to_have_count(OPEN_TURNS + 1)
    expect(page.locator("#nqa-chat .nqa-sources")).to_have_count(OPEN_TURNS + 1, timeout=30_000)
    expect(page.locator("#nqa-chat .nqa-file")).to_contain_text(["(lora.txt)"])
    page.screenshot(path=str(artifacts / f"long-chat-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for _ in range(50):  # saved when the answer is complete
        _, saved = services.conversation(chat_id, "")
        if len(history_pairs(saved)) == 201:
            break
        page.wait_for_timeout(200)
    hidden = 3 * (200 - OPEN_TURNS)  # kept as saved; the shown ones come back in Gradio's shape
    assert saved[:hidden] == chat[:hidden] and len(history_pairs(saved)) == 201
    assert [message_text(m) for m in saved[: len(chat)]] == [message_text(m) for m in chat]
    show_all.click()
    expect(users).to_have_count(201, timeout=60_000)
    expect(show_all).to_be_hidden()
