"""Shared test helpers, loaded as a pytest plugin by ``tests/conftest.py``.

Fixtures: an isolated environment (autouse), settings on temp dirs, a
knowledge base with fake embeddings, fixture files copied into the data dir.
Functions (imported by the tests that need them): ingest, store snapshots,
free ports, app and LLM settings.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rag.config import OFFLINE_ENV, Settings
from rag.ingest.pipeline import Ingestor, IngestReport
from rag.models.fakes import FakeEmbeddings
from rag.services import NotesQA
from rag.store.knowledge_base import KnowledgeBase

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent
SETTINGS_ENV = {name.upper() for name in Settings.model_fields}

#: Two small notes for the app tests (a Markdown file with headings, a text file).
ATTENTION = (
    "# 注意力机制\n\n注意力机制让模型在生成每个词时关注输入序列中最相关的部分。"
    "自注意力用查询、键和值计算权重。\n\n## 多头注意力\n\n多头注意力把表示拆成多个子空间。\n"
)
DISTILL = (
    "# 知识蒸馏\n\n知识蒸馏的温度系数控制软标签的平滑程度，温度越高分布越平滑。\n\n"
    "学生模型模仿教师模型的输出分布。\n"
)
LORA = "LoRA 是一种参数高效微调方法。它冻结预训练权重，只训练低秩矩阵，需要训练的参数大大减少。\n"


# -- fixtures ------------------------------------------------------------------


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
def kb(settings: Settings) -> Iterator[KnowledgeBase]:
    """A knowledge base whose embedder is a :class:`FakeEmbeddings` (``kb.embeddings.inner``)."""
    base = KnowledgeBase(settings, embeddings=FakeEmbeddings())
    yield base
    if "record_manager" in base.__dict__:
        base.record_manager.close()


@pytest.fixture
def add_fixture(data_dir: Path) -> Any:
    """Copy a fixture file into the data dir (or ``dest``); returns the copy's path."""

    def add(name: str, dest: Path | None = None, as_name: str | None = None) -> Path:
        target = (dest or data_dir) / (as_name or name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, target)
        return target

    return add


# -- functions -----------------------------------------------------------------


def ingest(kb: KnowledgeBase, *paths: Path, rebuild: bool = False) -> IngestReport:
    """Run one ingest of ``paths`` (default: the data dir)."""
    return Ingestor(kb).ingest(list(paths) or None, rebuild=rebuild)


def snapshot(kb: KnowledgeBase) -> dict[str, Any]:
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
    out: dict[str, set[str]] = {}
    for chunk_id, meta in kb.metadatas().items():
        out.setdefault(meta["source"], set()).add(chunk_id)
    return out


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_settings(root: Path, **overrides: object) -> Settings:
    """Settings for the app on ``root``: two small notes, fake models, no refusals."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "attention.md").write_text(ATTENTION, encoding="utf-8")
    (data / "lora.txt").write_text(LORA, encoding="utf-8")
    values: dict[str, object] = {
        "data_dir": data,
        "vectorstore_dir": root / "store",
        "embedding_backend": "fake",
        "llm_provider": "fake",
        "chunk_size": 120,
        "chunk_overlap": 40,
        "refuse_below_zh": 0.0,
        "refuse_below_en": 0.0,
    }
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


def llm_settings(**overrides: object) -> Settings:
    """Settings that ignore the developer's environment and .env for LLM fields."""
    base: dict[str, object] = {
        "local_model_path": None,
        "openai_base_url": None,
        "openai_api_key": None,
        "llm_threads": None,
    }
    base.update(overrides)
    return Settings(_env_file=None, **base)  # type: ignore[arg-type,call-arg]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any Settings variable, plus ``extra`` (for children)."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS_ENV}
    env.update(OFFLINE_ENV)
    env.update(extra)
    return env


def pdf_bomb(path: Path, inflated_mb: int, *, text: bool = True) -> Path:
    """A one-page PDF whose content stream inflates to ``inflated_mb`` MB of spaces.

    With ``text`` the stream starts with a text operator, so pypdf's extraction
    decompresses it (and stops at its limit); without, pypdf skips it silently
    and only pypdfium2 inflates it.
    """
    import io
    import zlib

    packer = zlib.compressobj(9)
    prefix = b"BT /F1 12 Tf 72 712 Td (Hello) Tj ET\n" if text else b""
    block = b" " * 2**20
    data = packer.compress(prefix) + b"".join(packer.compress(block) for _ in range(inflated_mb))
    data += packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        + (b"/Resources << /Font << /F1 5 0 R >> >> " if text else b"")
        + b">>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    path.write_bytes(out.getvalue())
    return path


def garbled_pdf_bomb(path: Path, inflated_mb: int) -> Path:
    """A garbled page (so pypdfium2 reads the whole file) followed by a silent bomb page."""
    from pypdf import PdfReader, PdfWriter

    bomb = pdf_bomb(path.with_suffix(".bomb.pdf"), inflated_mb, text=False)
    writer = PdfWriter()
    writer.add_page(PdfReader(FIXTURES / "garbled.pdf").pages[0])
    writer.add_page(PdfReader(bomb).pages[0])
    writer.write(path)
    bomb.unlink()
    return path


@dataclass
class Running:
    """The app launched in-process: a client over HTTP, its services and settings."""

    client: Any
    services: NotesQA
    settings: Settings


def listing(client: Any) -> dict[str, list[Any]]:
    """The page's file table by source (the dropdown lists the same files, in order)."""
    table, dropdown, _status = client.predict(None, api_name="/list_files")
    rows = {row[0]: row for row in table["data"]}
    assert [choice[0] for choice in dropdown["choices"]] == list(rows)
    return rows
