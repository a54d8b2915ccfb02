"""Scoped questions and 👍/👎 feedback through the app over HTTP (gradio_client)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from rag.web.app import build_app
from rag.web.render import message_text, sources_passages
from tests.helpers import ROOT, app_settings, free_port


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    app = build_app(app_settings(tmp_path))
    app.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        yield app
    finally:
        app.close()
        app.services.kb.record_manager.close()


def _sources(chat: list[Any]) -> list[str]:
    return [p["source"] for p in sources_passages(message_text(chat[-1]))]


def test_a_scoped_question_only_cites_the_chosen_note(app: Any) -> None:
    client = Client(app.local_url, verbose=False)
    everywhere, _ = client.predict("注意力机制和 LoRA", [], api_name="/ask")
    assert set(_sources(everywhere)) == {"attention.md", "lora.txt"}
    scoped, _ = client.predict("注意力机制和 LoRA", [], ["lora.txt"], None, api_name="/ask")
    assert _sources(scoped) == ["lora.txt"]
    under, _ = client.predict("注意力机制和 LoRA", [], [], "多头注意力", api_name="/ask")
    passages = sources_passages(message_text(under[-1]))
    assert [p["location"] for p in passages] == ["注意力机制 · 多头注意力"]
    saved = app.services.conversations("")
    assert app.services.conversation_scope(saved[0].id, "") == {"heading": "多头注意力"}


def test_an_unknown_scope_gets_a_bilingual_error_and_saves_nothing(app: Any) -> None:
    client = Client(app.local_url, verbose=False)
    chat, _ = client.predict("LoRA 是什么？", [], ["nope.md"], None, api_name="/ask")
    assert message_text(chat[-1]).startswith(
        "⚠️ 范围无效 Invalid scope: 知识库中没有这个文件：nope.md"
    )
    assert "No such note in the knowledge base: nope.md" in message_text(chat[-1])
    chat, _ = client.predict("LoRA 是什么？", [], ["lora.txt"], "多头注意力", api_name="/ask")
    assert "No heading '多头注意力' in lora.txt." in message_text(chat[-1])
    assert app.services.conversations("") == []


def test_a_rating_is_exported_and_rag_eval_runs_it(app: Any, tmp_path: Path) -> None:
    client = Client(app.local_url, verbose=False)
    chat, _ = client.predict("LoRA 是什么？", [], ["lora.txt"], None, api_name="/ask")
    answer_index = 1  # user, answer, sources
    down = client.predict(
        chat, answer_index, "down", "太短了", "LoRA 冻结预训练权重，只训练低秩矩阵。",
        ["lora.txt"], "", api_name="/rate",
    )  # fmt: skip
    up = client.predict(chat, answer_index, "up", api_name="/rate")
    stored = app.services.ratings()
    assert [(r.id, r.rating) for r in stored] == [(down, "down"), (up, "up")]
    assert stored[0].question == "LoRA 是什么？"
    assert stored[0].answer == message_text(chat[1])
    assert [p["source"] for p in stored[0].passages] == ["lora.txt"]
    assert stored[0].passages[0]["text"].startswith("LoRA 是一种参数高效微调方法。")
    assert (stored[0].reason, stored[0].scope) == ("太短了", {"source": ["lora.txt"]})

    settings = app.services.settings
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(settings.data_dir),
        "VECTORSTORE_DIR": str(settings.vectorstore_dir),
        "EMBEDDING_BACKEND": "fake",
        "LLM_PROVIDER": "fake",
        "CHUNK_SIZE": "120",
        "CHUNK_OVERLAP": "40",
    }
    exported = tmp_path / "exported.jsonl"
    run = [sys.executable, "-m", "rag.feedback", "export", "--out", str(exported), "--only", "down"]
    subprocess.run(run, check=True, env=env, cwd=tmp_path, capture_output=True, timeout=120)
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert [(line["id"], line["source"], line["scope"]) for line in lines] == [
        (f"feedback-{down}", "lora.txt", {"source": ["lora.txt"]})
    ]
    assert lines[0]["expected_answer"] == "LoRA 冻结预训练权重，只训练低秩矩阵。"
    evaluated = subprocess.run(
        [sys.executable, "-m", "rag.eval", str(exported), "--no-llm"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    record = json.loads(evaluated.stdout.splitlines()[0])
    assert record["scope"] == {"source": ["lora.txt"]}
    assert [s["source"] for s in record["sources"]] == ["lora.txt"]
    assert "n: 1" in evaluated.stderr


class _Request:
    username = None


def test_a_long_conversation_reopens_at_its_last_turns_and_keeps_every_turn(app: Any) -> None:
    from rag.web.app import OPEN_TURNS, WebHandlers
    from rag.web.render import history_pairs, sources_html

    services, me = app.services, _Request()
    chat: list[Any] = []
    for turn in range(1, 201):
        chat += [
            {"role": "user", "content": f"第{turn}个问题"},
            {"role": "assistant", "content": f"回答{turn}"},
            {"role": "assistant", "content": sources_html([])},
        ]
    chat_id = services.new_conversation("", "长对话")
    services.save_conversation(chat_id, "", chat, 200)
    services.save_conversation_scope(chat_id, "", {"source": ["lora.txt"]})
    handlers = WebHandlers(services)
    shown, opened_id, _title = handlers.open_conversation(chat_id, me)
    assert opened_id == chat_id
    assert len(history_pairs(shown)) == OPEN_TURNS
    assert message_text(shown[1]) == f"第{201 - OPEN_TURNS}个问题"
    sources, heading, note, _clear = handlers.scope_for(chat_id, me)
    assert (sources["value"], heading["value"]) == (["lora.txt"], None)
    assert note["visible"] is True
    *_, (after, _box, same_id) = handlers.ask_saved(
        "LoRA 是什么？", shown, chat_id, me, ["lora.txt"]
    )
    assert same_id == chat_id
    _title, saved = services.conversation(chat_id, "")
    assert saved[: len(chat)] == chat
    assert [message_text(m) for m in saved[len(chat) :]] == [message_text(m) for m in after[-3:]]
    assert len(history_pairs(saved)) == 201
    everything = handlers.show_all(chat_id, after, me)
    assert [message_text(m) for m in everything] == [message_text(m) for m in saved]
