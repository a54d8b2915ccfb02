"""Browser fixtures: the app served in-process with a slow fake model, and Chromium pages."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.models.fakes import FakeChatModel
from rag.services import NotesQA
from rag.web.app import build_app
from tests.helpers import app_settings, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Screenshots (git-ignored).
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


class SlowFakeChatModel(FakeChatModel):
    """The fake chat model, pausing before its first chunk and before each chunk."""

    delay: float = 0.04
    first_delay: float = 0.0

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        time.sleep(self.first_delay)
        for chunk in super()._stream(*args, **kwargs):
            time.sleep(self.delay)
            yield chunk


@pytest.fixture
def sync_api() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install_browser.sh (as root)")
    return pytest.importorskip("playwright.sync_api", reason="run scripts/install_browser.sh")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., tuple[str, NotesQA]]]:
    """Start the app over the test notes with a slow fake model; returns (url, services)."""
    started: list[tuple[Any, NotesQA]] = []

    def start(**model: Any) -> tuple[str, NotesQA]:
        settings = app_settings(tmp_path)
        llm = SlowFakeChatModel(chunk_chars=1, **model)
        services = NotesQA.from_settings(settings, llm=llm)
        app = build_app(settings, services)
        app.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
        started.append((app, services))
        return app.local_url, services

    yield start
    for app, services in started:
        app.close()
        services.kb.record_manager.close()


@pytest.fixture
def server(serve: Callable[..., tuple[str, NotesQA]]) -> tuple[str, NotesQA]:
    return serve()


@pytest.fixture
def browser(sync_api: Any) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser: Any) -> Callable[..., Any]:
    """A new page at a viewport size (default 1400×1000)."""

    def open_(width: int = 1400, height: int = 1000) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    return open_


@pytest.fixture
def artifacts() -> Path:
    """The folder for screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(open_page: Callable[..., Any]) -> Any:
    return open_page()
