"""Shared fixtures: an isolated environment, settings on temp dirs, a knowledge base."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag.config import OFFLINE_ENV, Settings
from rag.ingest.pipeline import Ingestor
from rag.models.fakes import FakeEmbeddings
from rag.store.knowledge_base import KnowledgeBase

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SETTINGS_ENV = {name.upper() for name in Settings.model_fields}


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Settings variable from the outside world, no ``.env``, everything offline."""
    for key in list(os.environ):
        upper = key.upper()
        if upper in SETTINGS_ENV or upper.startswith(("OPENAI_", "CHROMA_", "LLM_")):
            monkeypatch.delenv(key)
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(tmp_path: Path, data_dir: Path) -> Settings:
    """Temp data and store dirs, fake embeddings and LLM, small chunks."""
    return Settings(
        data_dir=data_dir,
        vectorstore_dir=tmp_path / "store",
        embedding_backend="fake",
        llm_provider="fake",
        chunk_size=120,
        chunk_overlap=40,
    )


@pytest.fixture
def kb(settings: Settings):
    """A knowledge base whose embedder is a :class:`FakeEmbeddings` (``kb.embeddings.inner``)."""
    base = KnowledgeBase(settings, embeddings=FakeEmbeddings())
    yield base
    if "record_manager" in base.__dict__:
        base.record_manager.close()


@pytest.fixture
def add_fixture(data_dir: Path):
    """Copy a fixture file into the data dir (or ``dest``); returns the copy's path."""

    def add(name: str, dest: Path | None = None, as_name: str | None = None) -> Path:
        target = (dest or data_dir) / (as_name or name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, target)
        return target

    return add


def ingest(kb: KnowledgeBase, *paths: Path, rebuild: bool = False):
    """Run one ingest of ``paths`` (default: the data dir)."""
    return Ingestor(kb).ingest(list(paths) or None, rebuild=rebuild)


def snapshot(kb: KnowledgeBase) -> dict:
    """Everything the knowledge base holds: Chroma ids/texts/metadata, records, BM25 ids."""
    got = kb.collection.get(include=["documents", "metadatas"])
    return {
        "chroma": {
            i: (text, meta)
            for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        },
        "records": set(kb.record_manager.all_keys()),
        "files": {(f.source, f.chunks, f.pages, f.sha256) for f in kb.record_manager.files()},
        "lexical": kb.lexical.ids,
    }


def ids_by_source(kb: KnowledgeBase) -> dict[str, set[str]]:
    """Chunk ids in Chroma, grouped by their ``source`` metadata."""
    got = kb.collection.get(include=["metadatas"])
    out: dict[str, set[str]] = {}
    for chunk_id, meta in zip(got["ids"], got["metadatas"], strict=True):
        out.setdefault(meta["source"], set()).add(chunk_id)
    return out
