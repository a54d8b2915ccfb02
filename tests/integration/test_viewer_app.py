"""Following a citation: the app over HTTP (gradio_client), real Chroma on disk, fake models."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from rag.services import NotesQA
from rag.web.app import build_app
from tests.helpers import FIXTURES, app_settings, free_port

HREF_RE = re.compile(r'href="(#nqa-passage:[^"]+)"')


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[Client, NotesQA]]:
    (tmp_path / "data").mkdir()
    shutil.copyfile(FIXTURES / "multipage.pdf", tmp_path / "data" / "rag.pdf")
    settings = app_settings(tmp_path)
    demo = build_app(settings)
    demo.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        yield Client(demo.local_url, verbose=False), demo.services
    finally:
        demo.close()
        demo.services.kb.record_manager.close()


def _content(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(p["text"] for p in content)


def _path(output: Any) -> Path:
    """The file of an image or download output (an update carries it as its value)."""
    value = output.get("value", output) if isinstance(output, dict) else output
    return Path(value["path"] if isinstance(value, dict) else value)


def _ask(client: Client, question: str) -> tuple[str, str]:
    """The answer's and its sources' raw HTML content."""
    messages, _ = client.predict(question, [], api_name="/ask")
    return _content(messages[-2]), _content(messages[-1])


def test_a_citation_of_a_text_note_opens_its_section_with_the_passage_marked(
    app: tuple[Client, NotesQA], tmp_path: Path
) -> None:
    client, _ = app
    answer, _ = _ask(client, "什么是多头注意力？")
    assert answer.startswith('根据笔记<a class="nqa-cite" href="#nqa-passage:')
    cite = HREF_RE.search(answer)
    assert cite is not None
    head, image, body, download = client.predict(cite.group(1), api_name="/passage")
    assert head == (
        '<div class="nqa-viewer-title">📄 注意力机制</div>'
        '<div class="nqa-viewer-meta">attention.md · 注意力机制 &gt; 多头注意力</div>'
    )
    assert (
        '<mark class="nqa-mark">## 多头注意力<br><br>多头注意力把表示拆成多个子空间。</mark>'
        in body
    )
    assert image["visible"] is False  # no page image for a text note
    assert _path(download).name == "attention.md"
    assert _path(download).read_bytes() == (tmp_path / "data" / "attention.md").read_bytes()


def test_a_pdf_source_opens_its_page_rendered_with_the_passage_highlighted(
    app: tuple[Client, NotesQA],
) -> None:
    client, services = app
    _, sources = _ask(client, "向量数据库保存什么？")
    first = HREF_RE.search(sources)
    assert first is not None and "rag.pdf" in sources[first.end() : first.end() + 200]
    head, image, body, download = client.predict(first.group(1), api_name="/passage")
    assert "rag.pdf · 第 3 / 3 页 page 3 / 3" in head
    assert "黄色高亮" in body and "向量数据库保存文本片段的嵌入向量" in body
    with Image.open(_path(image)) as page:
        assert page.size == (1191, 1684)  # A4 at 2 px per point
        pixels = np.asarray(page.convert("RGB"), dtype=int)
    yellow = (pixels[..., 0] > 200) & (pixels[..., 1] > 170) & (pixels[..., 2] < 170)
    rows = np.flatnonzero(yellow.any(axis=1))
    assert yellow.sum() > 20_000 and rows.max() < 300  # over the two lines at the top
    assert _path(download).read_bytes() == (FIXTURES / "multipage.pdf").read_bytes()
    client.predict(first.group(1), api_name="/passage")  # again: from the cache
    assert len(list(services.viewer.pages.folder.glob("*.png"))) == 1


def test_only_passages_and_files_of_the_knowledge_base_are_served(
    app: tuple[Client, NotesQA], tmp_path: Path
) -> None:
    client, services = app
    _ask(client, "LoRA 是什么？")  # the first question indexes the notes
    _, image, body, download = client.predict("#nqa-passage:no-such-id", api_name="/passage")
    assert "这段内容已不在知识库中" in body and "no longer in the knowledge base" in body
    assert image["visible"] is download["visible"] is False
    (tmp_path / "data" / "secret.bin").write_bytes(b"not a note")
    (tmp_path / "outside.txt").write_text("私人文件", encoding="utf-8")
    for source in ("secret.bin", "../outside.txt", str(tmp_path / "outside.txt")):
        assert services.note_file(source) is None
    assert services.note_file("lora.txt") is not None


def test_every_chunk_of_a_note_with_a_table_is_found_in_its_section(
    app: tuple[Client, NotesQA], tmp_path: Path
) -> None:
    _, services = app
    rows = "".join(f"指标{i}\t检索增强生成的第{i}项表现\t微调的第{i}项表现\n" for i in range(8))
    note = tmp_path / "data" / "compare.txt"
    note.write_text(
        f"RAG 与微调\n\n两者的对比见下表。\n特征\tRAG\t微调\n{rows}\n表后的一段说明文字。\n",
        encoding="utf-8",
    )
    assert services.ingest([note]).ok
    metas = services.kb.metadatas()
    chunks = sorted(
        (i for i, m in metas.items() if m["source"] == "compare.txt"),
        key=lambda i: metas[i]["chunk_index"],
    )
    tables = [i for i in chunks if metas[i].get("table")]
    assert len(tables) >= 2  # the rows were cut into several chunks
    for chunk_id in chunks:
        ctx = services.passage_context(chunk_id)
        assert ctx.located and ctx.context is not None, ctx.passage
        assert ctx.context.passage in note.read_text(encoding="utf-8")
    first = services.passage_context(tables[0]).context
    assert first is not None and first.passage.startswith("指标0\t")
