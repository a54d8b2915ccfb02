"""The web app, launched in-process and driven over HTTP with gradio_client.

Fake embeddings and the fake LLM, a temp data dir with two small notes; the
store starts empty, so the first request ingests them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from rag.services import IngestProgress, NotesQA
from rag.web.app import WebHandlers, build_app
from rag.web.render import SOURCES_MARK, history_pairs, message_text
from tests.helpers import DISTILL, Running, app_settings, free_port, listing


def texts(history: list) -> list[tuple[str, str]]:
    return [(m["role"], message_text(m)) for m in history]


def ask(client: Client, question: str, history: list | None = None) -> list:
    messages, _box = client.predict(question, history or [], api_name="/ask")
    return messages


def answer_and_sources(history: list) -> tuple[str, str]:
    """The last answer's text and its sources block."""
    roles = texts(history)
    answer, sources = roles[-2], roles[-1]
    assert answer[0] == sources[0] == "assistant"
    assert sources[1].startswith(SOURCES_MARK)
    return answer[1], sources[1]


def first_source(sources: str) -> str:
    """The location line of source [1]."""
    start = sources.index("<b>[1]</b>")
    return sources[start : sources.index("</summary>", start)]


def test_ask_answers_with_citation_and_sources(running: Running) -> None:
    history = ask(running.client, "什么是注意力机制？")
    assert texts(history)[0] == ("user", "什么是注意力机制？")
    answer, sources = answer_and_sources(history)
    assert "[1]" in answer
    assert "注意力机制" in answer
    assert "attention.md" in first_source(sources)
    assert "<details" in sources and "自注意力用查询" in sources
    # The first ingest of the empty store ran on that first request.
    assert set(listing(running.client)) == {"attention.md", "lora.txt"}


def test_sources_are_shown_before_the_answer_streams(running: Running) -> None:
    job = running.client.submit("LoRA 为什么能减少训练参数？", [], api_name="/ask")
    job.result(timeout=60)
    steps = [texts(messages) for messages, _ in job.outputs()]
    with_sources = [s for s in steps if len(s) == 3]
    assert with_sources, steps
    # When the sources first appear, no answer token has arrived yet.
    first = with_sources[0]
    assert "[1]" not in first[1][1]
    assert "lora.txt" in first[2][1]
    final = steps[-1]
    assert final[1][1].startswith("根据笔记[1]")
    assert len({s[1][1] for s in with_sources}) > 2  # streamed, not all at once


def test_follow_up_gets_history(running: Running) -> None:
    history = ask(running.client, "什么是注意力机制？")
    history = ask(running.client, "多头注意力呢？", history)
    assert [role for role, _ in texts(history)] == ["user", "assistant", "assistant"] * 2
    assert len(history_pairs(history)) == 2


def test_upload_list_ask_delete(running: Running) -> None:
    client, data_dir = running.client, running.settings.data_dir
    note = running.settings.data_dir.parent / "upload" / "distill.md"
    note.parent.mkdir()
    note.write_text(DISTILL, encoding="utf-8")

    result, table, dropdown, _status, emptied = client.predict(
        [handle_file(str(note))], api_name="/upload"
    )
    assert dropdown["value"] == "distill.md"
    assert "distill.md" in result and "新增 added" in result
    assert emptied is None
    assert (data_dir / "distill.md").read_text(encoding="utf-8") == DISTILL
    assert "distill.md" in {row[0] for row in table["data"]}

    files = listing(client)
    record = {r.source: r for r in running.services.files()}["distill.md"]
    assert files["distill.md"][1] == record.chunks >= 1

    history = ask(client, "知识蒸馏的温度系数控制什么？")
    answer, sources = answer_and_sources(history)
    assert "distill.md" in first_source(sources)
    assert "温度系数控制软标签的平滑程度" in answer

    message, table, _dropdown, status = client.predict("distill.md", api_name="/delete_file")
    assert "distill.md" in message and "已删除" in message
    assert "distill.md" not in {row[0] for row in table["data"]}
    assert "2 个文件 files" in status
    assert "distill.md" not in listing(client)
    assert not (data_dir / "distill.md").exists()
    _, sources = answer_and_sources(ask(client, "知识蒸馏的温度系数控制什么？"))
    assert "distill.md" not in sources


def test_bad_upload_is_refused_and_store_unchanged(running: Running) -> None:
    client, data_dir = running.client, running.settings.data_dir
    status, *_ = client.predict(api_name="/status")  # returns once the first ingest is done
    assert "2 个文件 files" in status
    before = listing(client)
    assert set(before) == {"attention.md", "lora.txt"}
    chunks_before = running.services.chunk_count()
    fake_pdf = data_dir.parent / "upload" / "fake.pdf"
    fake_pdf.parent.mkdir()
    fake_pdf.write_text("this is plain text, not a PDF", encoding="utf-8")

    result, *_ = client.predict([handle_file(str(fake_pdf))], api_name="/upload")
    assert "fake.pdf" in result
    assert "失败 failed" in result
    assert "not a PDF" in result
    assert listing(client) == before
    assert running.services.chunk_count() == chunks_before
    assert not (data_dir / "fake.pdf").exists()


def test_mixed_upload_reports_each_file(running: Running) -> None:
    folder = running.settings.data_dir.parent / "upload"
    folder.mkdir()
    (folder / "good.md").write_text(DISTILL, encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "bad.pdf").write_bytes(b"hello")
    result, *_ = running.client.predict(
        [handle_file(str(folder / n)) for n in ("good.md", "empty.txt", "bad.pdf")],
        api_name="/upload",
    )
    rows = [line for line in result.splitlines() if line.startswith("| ") and "File" not in line]
    assert len(rows) == 3
    assert "新增 added" in rows[0]
    assert "失败" in rows[1] and "empty" in rows[1]
    assert "失败" in rows[2] and "not a PDF" in rows[2]
    assert "1 个文件已入库" in result
    # Uploading the same file again: saved once, unchanged.
    result, *_ = running.client.predict([handle_file(str(folder / "good.md"))], api_name="/upload")
    assert "未变 unchanged" in result
    assert sorted(p.name for p in running.settings.data_dir.iterdir()) == [
        "attention.md",
        "good.md",
        "lora.txt",
    ]


def test_reindex_and_status(running: Running) -> None:
    client = running.client
    message, table, dropdown, status = client.predict("lora.txt", api_name="/reindex_file")
    assert dropdown["value"] == "lora.txt"
    assert {row[0]: row[1] for row in table["data"]}["lora.txt"] == 1
    assert "lora.txt" in message and "重新索引" in message
    assert "2 个文件 files" in status
    message, *_ = client.predict("nope.md", api_name="/delete_file")
    assert "nope.md" in message and "没有" in message
    message, *_ = client.predict("", api_name="/delete_file")
    assert "选择" in message
    status, table, _dropdown = client.predict(api_name="/status")
    assert "2 个文件 files" in status and "fake/hashing-64" in status
    assert len(table["data"]) == 2


@pytest.mark.parametrize("running", [{"refuse_below_zh": 0.99}], indirect=True)
def test_refused_answer_shows_nearest_passages(running: Running) -> None:
    answer, sources = answer_and_sources(ask(running.client, "什么是注意力机制？"))
    assert answer.startswith("笔记中没有找到相关内容")
    assert "最接近的段落" in sources and "attention.md" in sources


def test_chat_answers_while_an_ingest_runs(running: Running) -> None:
    client, services = running.client, running.services
    client.predict(api_name="/status")  # first ingest done
    note = running.settings.data_dir.parent / "upload" / "distill.md"
    note.parent.mkdir()
    note.write_text(DISTILL, encoding="utf-8")
    with services.ingest_lock:  # as if a long ingest were running
        upload = client.submit([handle_file(str(note))], api_name="/upload")
        answer, _ = answer_and_sources(ask(client, "什么是注意力机制？"))
        assert "[1]" in answer
        assert not upload.done()
    result, *_ = upload.result(timeout=60)
    assert "新增 added" in result


def test_empty_knowledge_base_says_so(tmp_path: Path) -> None:
    settings = app_settings(tmp_path)
    for path in settings.data_dir.iterdir():
        path.unlink()
    app = build_app(settings)
    app.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        history = ask(client, "什么是注意力机制？")
        assert "上传" in texts(history)[-1][1]
        status, *_ = client.predict(api_name="/status")
        assert "0 个文件" in status
    finally:
        app.close()
        app.services.kb.record_manager.close()


# -- pure helpers ---------------------------------------------------------


def test_status_shows_first_ingest_progress(tmp_path: Path) -> None:
    services = NotesQA.from_settings(app_settings(tmp_path))
    try:
        services.initial.started = True  # as while the background ingest runs
        services.initial.progress = IngestProgress(
            files_total=4, files_done=1, chunks_embedded=32, current="lora.txt"
        )
        text = WebHandlers(services).status_markdown()
        assert "正在索引" in text and "1/4" in text and "lora.txt" in text
        assert "32" in text and "25%" in text
        services.initial.done.set()
        assert "0 个文件" in WebHandlers(services).status_markdown()
    finally:
        services.kb.record_manager.close()
