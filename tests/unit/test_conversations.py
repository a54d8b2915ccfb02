"""Saved conversations: per owner, searchable, renamed and deleted, kept on disk."""

from __future__ import annotations

from langchain_core.documents import Document

from rag.store.conversations import ConversationStore
from rag.web.render import conversation_markdown, sources_html

CHAT = [
    {"role": "user", "content": "什么是注意力机制？"},
    {"role": "assistant", "content": "注意力机制让模型关注相关部分[1]。"},
]


def test_a_conversation_is_saved_and_reopened_after_a_restart(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite3")
    cid = store.create("ana", "什么是注意力机制？")
    assert store.save(cid, "ana", CHAT, turns=1) is True
    store.close()
    reopened = ConversationStore(tmp_path / "c.sqlite3")
    assert reopened.messages(cid, "ana") == CHAT
    assert [(c.title, c.turns) for c in reopened.list("ana")] == [("什么是注意力机制？", 1)]


def test_one_owner_never_reads_changes_or_deletes_anothers(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite3")
    cid = store.create("ana", "mine")
    assert store.messages(cid, "bob") is None
    assert store.save(cid, "bob", [], turns=0) is False
    assert store.rename(cid, "bob", "x") is False
    assert store.delete(cid, "bob") is False
    assert store.list("bob") == []
    assert store.title(cid, "ana") == "mine"


def test_search_rename_and_delete(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite3")
    first = store.create("", "第一个")
    store.save(first, "", CHAT, turns=1)
    second = store.create("", "LoRA 100%_问题")
    assert [c.id for c in store.list("", "注意力")] == [first]
    assert [c.id for c in store.list("", "100%_")] == [second]
    assert [c.id for c in store.list("", "%")] == [second]  # literal, not a wildcard
    assert store.list("", "微调") == []
    assert store.rename(first, "", "  注意力\n笔记 ") is True
    assert store.title(first, "") == "注意力 笔记"
    assert store.delete(second, "") is True
    assert [c.id for c in store.list("")] == [first]


def test_a_conversation_exports_to_markdown_with_its_passages():
    sources = sources_html(
        [Document(page_content="注意力机制让模型关注。", metadata={"source": "a.md"})]
    )
    text = conversation_markdown("注意力", [*CHAT, {"role": "assistant", "content": sources}])
    assert text == (
        "# 注意力\n\n## 问 Q: 什么是注意力机制？\n\n注意力机制让模型关注相关部分[1]。\n\n"
        "📚 来源 Sources · 1\n\n[1] a.md\n\n> 注意力机制让模型关注。\n"
    )


def _turns(n: int) -> list[dict]:
    chat = []
    for i in range(1, n + 1):
        chat += [
            {"role": "user", "content": f"Q{i}"},
            {"role": "assistant", "content": f"A{i}"},
            {"role": "assistant", "content": sources_html([])},
        ]
    return chat


def test_a_long_conversation_shows_its_last_turns_and_is_saved_whole():
    from rag.web.render import hidden_count, history_pairs, visible_tail, with_hidden

    saved = _turns(30)
    shown = visible_tail(saved, 10)
    assert len(shown) == 1 + 30 and shown[1:] == saved[-30:]
    assert hidden_count(shown) == 60
    assert "20 earlier turns are saved" in shown[0]["content"]
    assert [q for q, _ in history_pairs(shown)] == [f"Q{i}" for i in range(21, 31)]
    asked = [*shown, {"role": "user", "content": "Q31"}, {"role": "assistant", "content": "A31"}]
    assert with_hidden(asked, saved) == [*saved, *asked[-2:]]
    assert visible_tail(saved, 30) == saved and hidden_count(saved) == 0
    assert with_hidden(saved, []) == saved
