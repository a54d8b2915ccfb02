"""Integration fixtures: the bundled notes indexed once with the real e5."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from rag.config import Settings
from rag.store.knowledge_base import KnowledgeBase
from tests.helpers import ROOT, ingest


@pytest.fixture(scope="session")
def notes_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """A store of the five bundled notes (real e5, on disk), shared by the session."""
    root = tmp_path_factory.mktemp("notes")
    shutil.copytree(ROOT / "data", root / "data")
    kb = KnowledgeBase(Settings(data_dir=root / "data", vectorstore_dir=root / "store"))
    assert ingest(kb).ok
    yield kb
    kb.record_manager.close()
