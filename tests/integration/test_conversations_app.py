"""Saved conversations through the app over HTTP (gradio_client), with and without logins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from rag.web.app import WebHandlers, build_app
from rag.web.render import message_text
from tests.helpers import app_settings, free_port

LOGINS = [("ana", "pw-ana-1"), ("bob", "pw-bob-2")]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    app = build_app(app_settings(tmp_path))
    app.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True, auth=LOGINS)
    try:
        yield app
    finally:
        app.close()
        app.services.kb.record_manager.close()


def test_each_login_sees_only_its_own_conversations(app: Any) -> None:
    ana = Client(app.local_url, auth=LOGINS[0], verbose=False)
    ana.predict("什么是注意力机制？", [], api_name="/ask")
    Client(app.local_url, auth=LOGINS[1], verbose=False).predict(
        "LoRA 是什么？", [], api_name="/ask"
    )
    services = app.services
    assert [c.title for c in services.conversations("ana")] == ["什么是注意力机制？"]
    assert [c.title for c in services.conversations("bob")] == ["LoRA 是什么？"]
    assert services.conversations("") == []
    ana_chat = services.conversations("ana")[0].id
    assert services.conversation(ana_chat, "bob") is None


class _Request:
    """What the handlers read of Gradio's request: the login name."""

    def __init__(self, username: str | None) -> None:
        self.username = username


def test_a_saved_conversation_reopens_with_its_sources_and_exports(app: Any) -> None:
    handlers = WebHandlers(app.services)
    me = _Request("ana")
    *_, (messages, _box, chat_id) = handlers.ask_saved("什么是注意力机制？", [], None, me)
    reopened, listing, restored_id, title = handlers.restore(chat_id, me)
    assert restored_id == chat_id and title == "什么是注意力机制？"
    assert [message_text(m) for m in reopened] == [message_text(m) for m in messages]
    assert message_text(reopened[-1]).startswith('<div class="nqa-sources">')
    assert listing["value"] == chat_id
    assert handlers.restore(chat_id, _Request("bob"))[2] is None
    exported = Path(handlers.export_conversation(chat_id, me)["value"])
    text = exported.read_text(encoding="utf-8")
    assert text.startswith("# 什么是注意力机制？\n\n## 问 Q: 什么是注意力机制？\n\n根据笔记[1]")
    assert "[1] 注意力机制 (attention.md)\n\n> # 注意力机制" in text
