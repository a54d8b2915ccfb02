"""Nothing a note, a question or the model writes makes the browser fetch a remote URL."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def bait() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records every path asked of it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()


def test_images_in_answers_and_questions_are_not_loaded(
    serve: Callable[..., tuple[str, Any]],
    page: Any,
    sync_api: Any,
    bait: tuple[str, list[str]],
    tmp_path: Path,
) -> None:
    base, hits = bait
    injected = (
        f'图片注入 <img src="{base}/answer-tag.png"> ![leak]({base}/answer-md.png) '
        f'<iframe src="{base}/frame"></iframe>'
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "injected.md").write_text(f"# 图片注入\n\n{injected}\n", encoding="utf-8")
    url, _ = serve(delay=0.05, responses=[f"根据笔记[1]：{injected}"])
    page.goto(url)
    sync_api.expect(page.locator("#nqa-status")).to_contain_text("3 个文件 files", timeout=60_000)
    box = page.locator("#nqa-question textarea")
    box.fill("图片注入是什么？")
    box.press("Enter")
    sync_api.expect(page.locator("#nqa-chat .nqa-sources")).to_have_count(1, timeout=30_000)
    page.wait_for_timeout(4000)  # the injected answer streams meanwhile
    assert hits == []
    box.fill(f"多头注意力 ![q]({base}/question.png)")
    box.press("Enter")
    users = page.locator("#nqa-chat [data-testid='user']")
    sync_api.expect(users.nth(1)).to_contain_text("[🖼 q]", timeout=30_000)
    page.wait_for_timeout(1000)
    assert hits == []
    assert page.locator("#nqa-chat img[src^='http://127.0.0.1']").count() == 0
