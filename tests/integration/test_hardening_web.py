"""Hardening of the web app over HTTP: login throttling, the resource policy, question length."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.web.app import build_app
from rag.web.render import message_text
from tests.helpers import app_settings, free_port


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    settings = app_settings(
        tmp_path, app_auth="ana:right-pass", login_max_failures=3, login_lockout_seconds=30
    )
    app = build_app(settings)
    app.launch(
        prevent_thread_lock=True, server_port=free_port(), quiet=True, auth=[("ana", "right-pass")]
    )
    try:
        yield app.local_url.rstrip("/"), app
    finally:
        app.close()
        app.services.kb.record_manager.close()


def _login(url: str, password: str) -> httpx.Response:
    return httpx.post(f"{url}/login", data={"username": "ana", "password": password}, timeout=10)


def test_wrong_passwords_are_logged_then_throttled(guarded, caplog):
    url, _ = guarded
    with caplog.at_level(logging.WARNING, logger="rag.web.guard"):
        codes = [_login(url, f"guess-{n}").status_code for n in range(3)]
        locked = _login(url, "right-pass")  # even the right password waits
    assert codes == [400, 400, 400]
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) == 30
    assert "Too many failed logins" in locked.json()["detail"]
    assert "登录失败次数过多" in locked.json()["detail"]
    failures = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert failures[-1] == "login failed from 127.0.0.1 (3 in a row)"


def test_a_right_password_before_the_limit_clears_the_count(guarded):
    url, _ = guarded
    assert [_login(url, "x").status_code for _ in range(2)] == [400, 400]
    assert _login(url, "right-pass").status_code == 200
    assert [_login(url, "y").status_code for _ in range(2)] == [400, 400]


def test_every_page_forbids_remote_images_and_frames(guarded):
    url, _ = guarded
    policy = httpx.get(url + "/", timeout=10).headers["content-security-policy"]
    assert "img-src 'self' data: blob:" in policy
    assert "frame-src 'self'" in policy
    assert "media-src 'self' data: blob:" in policy


def test_a_huge_question_is_refused_at_once_and_does_not_delay_the_next(tmp_path):
    from gradio_client import Client

    settings = app_settings(tmp_path)
    app = build_app(settings)
    app.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        started = time.perf_counter()
        chat, _box = client.predict("注" * 100_000, [], api_name="/ask")
        refused_in = time.perf_counter() - started
        answer = message_text(chat[-1])
        assert "The question is too long (100,000 characters, the limit is 2,000)" in answer
        assert "问题太长" in answer
        assert len(message_text(chat[-2])) == 201  # the question, quoted short
        assert refused_in < 5
        started = time.perf_counter()
        chat, _box = client.predict("什么是注意力机制？", [], api_name="/ask")
        assert time.perf_counter() - started < 30
        assert "注意力" in message_text(chat[-2])
    finally:
        app.close()
        app.services.kb.record_manager.close()
