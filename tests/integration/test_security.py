"""Security defaults: loopback unless a login is set; Gradio's file routes serve no notes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rag.web.app import build_app
from tests.helpers import app_settings, free_port

ROOT = Path(__file__).resolve().parents[2]


def test_app_refuses_public_bind_without_login(tmp_path):
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "DATA_DIR": str(tmp_path),
        "VECTORSTORE_DIR": str(tmp_path / "vs"),
    }
    env.pop("APP_AUTH", None)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "app.py")], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert "refusing to serve on 0.0.0.0 without a login" in proc.stderr


@pytest.fixture
def server(tmp_path):
    settings = app_settings(tmp_path)
    secret = settings.data_dir / "lora.txt"
    app = build_app(settings)
    app.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        yield app.local_url.rstrip("/"), secret
    finally:
        app.close()
        app.services.kb.record_manager.close()


@pytest.mark.parametrize(
    "route",
    [
        "/gradio_api/file={path}",
        "/file={path}",
        "/gradio_api/file=../../../../../../..{path}",
        "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e{path}",
        "/gradio_api/file=/etc/passwd",
        "/static/../../../../../../../../etc/passwd",
        "/assets/..%2f..%2f..%2f..%2f..%2f..%2fetc/passwd",
    ],
)
def test_file_routes_serve_no_notes_and_no_system_files(server, route):
    url, secret = server
    response = httpx.get(url + route.format(path=secret.as_posix()), timeout=10)
    body = response.text
    assert response.status_code in (400, 403, 404, 405), (response.status_code, body[:200])
    assert "LoRA" not in body and "root:x:0:0" not in body
