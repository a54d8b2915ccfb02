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


def _cached_copies(content: bytes) -> list[Path]:
    from gradio.utils import get_upload_folder

    root = Path(get_upload_folder())
    return [p for p in root.rglob("*") if p.is_file() and p.read_bytes() == content]


def test_uploads_leave_no_copy_in_gradio_cache(running, tmp_path):
    from gradio_client import handle_file

    note = tmp_path / "cached-note.md"
    content = f"# 缓存测试 {time.time()}\n\n上传之后缓存里不应留下副本。\n".encode()
    note.write_bytes(content)
    running.client.predict(api_name="/status")
    result, *_ = running.client.predict([handle_file(str(note))], api_name="/upload")
    assert "新增 added" in result
    assert _cached_copies(content) == []
    message, *_ = running.client.predict("cached-note.md", api_name="/delete_file")
    assert "cached-note.md" in message
    assert _cached_copies(content) == []


def test_the_app_empties_its_upload_cache_when_it_starts(tmp_path):
    import subprocess
    import sys

    from gradio_client import Client

    from tests.helpers import clean_env

    stale = tmp_path / "store" / "upload-cache" / "0123abcd" / "deleted-note.md"
    stale.parent.mkdir(parents=True)
    stale.write_text("a deleted note", encoding="utf-8")
    port = free_port()
    settings = app_settings(tmp_path)
    env = clean_env(
        DATA_DIR=str(settings.data_dir),
        VECTORSTORE_DIR=str(settings.vectorstore_dir),
        EMBEDDING_BACKEND="fake",
        LLM_PROVIDER="fake",
        GRADIO_SERVER_PORT=str(port),
    )
    env.pop("GRADIO_TEMP_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli.main", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                Client(f"http://127.0.0.1:{port}", verbose=False).predict(api_name="/status")
                break
            except Exception:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.5)
        assert not stale.exists()
        assert (tmp_path / "store" / "upload-cache").is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
