"""The real page in headless Chromium (Playwright), against the app served in-process.

Fake embeddings and a fake LLM that streams one character at a time, slowly
enough to watch: ask, see the sources and then the streamed, cited answer;
upload a note and find it in the knowledge-base panel; delete it again.
Saves screenshots to ``artifacts/``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from rag.services import NotesQA
from tests.helpers import DISTILL

pytestmark = pytest.mark.browser


def test_ask_stream_upload(
    server: tuple[str, NotesQA], page: Any, sync_api: Any, artifacts: Path, tmp_path: Path
) -> None:
    url, services = server
    page.goto(url)
    sync_api.expect(page).to_have_title("notes-qa · 笔记问答")
    # First start: the empty store ingests the two notes, the status line says when done.
    status = page.locator("#nqa-status")
    sync_api.expect(status).to_contain_text("2 个文件 files", timeout=60_000)
    files = page.locator("#nqa-files")
    sync_api.expect(files).to_contain_text("attention.md")

    box = page.locator("#nqa-question textarea")
    box.fill("什么是注意力机制？")
    box.press("Enter")

    # Watch the chat: sources must show up before the answer has streamed in.
    bots = page.locator("#nqa-chat [data-testid='bot']")
    sources = page.locator("#nqa-chat .nqa-sources")
    seen: list[tuple[bool, str]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        has_sources = sources.count() > 0
        answer = bots.first.inner_text() if bots.count() else ""
        seen.append((has_sources, answer))
        if has_sources and answer.endswith("。") and "[1]" in answer:
            break
        time.sleep(0.05)
    final = seen[-1][1]
    assert final.startswith("根据笔记[1]"), seen[-5:]
    assert "注意力机制" in final
    before_answer = [a for has, a in seen if has and "[1]" not in a]
    assert before_answer, "the sources did not appear before the answer"
    partial = {a for has, a in seen if has and "[1]" in a and a != final}
    assert partial, "the answer did not stream"
    sync_api.expect(sources.first).to_contain_text("[1]")
    sync_api.expect(sources.first).to_contain_text("attention.md")

    # Sources are collapsed: open [1] to read the passage.
    passage = page.locator("#nqa-chat .nqa-source .nqa-passage").first
    assert not passage.is_visible()
    page.locator("#nqa-chat .nqa-source summary").first.click()
    sync_api.expect(passage).to_be_visible()
    sync_api.expect(passage).to_contain_text("自注意力用查询")

    # Upload a note; it appears in the knowledge-base panel.
    note = tmp_path / "upload" / "distill.md"
    note.parent.mkdir()
    note.write_text(DISTILL, encoding="utf-8")
    page.locator("#nqa-upload input[type='file']").set_input_files(str(note))
    sync_api.expect(page.locator("#nqa-upload")).to_contain_text("distill")
    page.get_by_role("button", name="上传并索引").click()
    result = page.locator("#nqa-upload-result")
    sync_api.expect(result).to_contain_text("新增 added", timeout=60_000)
    sync_api.expect(result).to_contain_text("distill.md")
    row = files.locator("[role='row']", has_text="distill.md")
    sync_api.expect(row).to_be_visible()
    sync_api.expect(row).to_contain_text("1")
    sync_api.expect(status).to_contain_text("3 个文件 files")
    page.screenshot(path=str(artifacts / "app.png"), full_page=True)

    # Select it in the table and delete it (confirming the dialog).
    row.locator("[role='gridcell']").first.click()
    selected = page.locator("#nqa-selected input")
    sync_api.expect(selected).to_have_value("distill.md")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#nqa-main").get_by_role("button", name="删除").click()
    sync_api.expect(page.locator("#nqa-action-result")).to_contain_text("已删除")
    sync_api.expect(files).not_to_contain_text("distill.md")
    assert "distill.md" not in {r.source for r in services.files()}
    page.screenshot(path=str(artifacts / "app-after-delete.png"), full_page=True)
