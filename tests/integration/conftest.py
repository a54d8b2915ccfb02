"""Integration fixtures: the bundled notes indexed once with the real e5."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.store.knowledge_base import KnowledgeBase
from tests.helpers import ROOT, Running, app_settings, free_port, ingest


@pytest.fixture(scope="session")
def notes_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """A store of the five bundled notes (real e5, on disk), shared by the session."""
    root = tmp_path_factory.mktemp("notes")
    shutil.copytree(ROOT / "data", root / "data")
    kb = KnowledgeBase(Settings(data_dir=root / "data", vectorstore_dir=root / "store"))
    assert ingest(kb).ok
    yield kb
    kb.record_manager.close()


@pytest.fixture
def running(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    """The app on two small notes with fake models, launched and driven with gradio_client."""
    from gradio_client import Client

    from rag.web.app import build_app

    settings = app_settings(tmp_path, **getattr(request, "param", {}))
    app = build_app(settings)
    app.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        yield Running(client, app.services, settings)
    finally:
        app.close()
        app.services.kb.record_manager.close()
