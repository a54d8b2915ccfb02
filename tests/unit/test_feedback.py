"""Ratings of answers: stored with what was shown, exported as eval questions."""

from __future__ import annotations

import json
import sqlite3

from langchain_core.documents import Document

from rag.services.feedback import expected_keywords, export_lines
from rag.store.conversations import ConversationStore
from rag.store.feedback import FeedbackStore
from rag.web.render import rated_turn, scope_note, sources_html, sources_passages

PASSAGES = [
    {"source": "lora.txt", "location": "LoRA", "text": "LoRA 冻结权重。只训练低秩矩阵。"},
    {"source": "b.pdf", "location": "B · 第2页", "text": "别的。", "page": 2},
]


def test_a_rating_is_kept_with_its_question_passages_and_reason(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    down = store.add("ana", "down", "LoRA 是什么？", "不知道", PASSAGES, {"source": ["lora.txt"]})
    store.add("bob", "up", "Q2", "A2", [])
    assert store.explain(down, "bob", "x", "y") is False
    assert store.explain(down, "ana", " 太短 ", " LoRA 只训练低秩矩阵。 ") is True
    store.close()
    reopened = FeedbackStore(tmp_path / "f.sqlite3")
    (item,) = reopened.list("ana")
    assert (item.rating, item.question, item.answer, item.passages) == (
        "down",
        "LoRA 是什么？",
        "不知道",
        PASSAGES,
    )
    assert (item.reason, item.expected, item.scope) == (
        "太短",
        "LoRA 只训练低秩矩阵。",
        {"source": ["lora.txt"]},
    )
    assert [i.owner for i in reopened.list()] == ["ana", "bob"]
    assert [i.owner for i in reopened.list(rating="up")] == ["bob"]


def test_export_writes_eval_lines_that_name_the_top_passages_note(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    down = store.add("ana", "down", "LoRA 是什么？", "不知道", PASSAGES, {"source": ["lora.txt"]})
    store.explain(down, "ana", "答非所问", "LoRA 冻结预训练权重，只训练低秩矩阵。")
    up = store.add("ana", "up", "B 讲什么？", "别的[1]。", PASSAGES[::-1])
    lines = export_lines(store.list())
    assert {k: v for k, v in lines[0].items() if k != "rated_at"} == {
        "id": f"feedback-{down}",
        "question": "LoRA 是什么？",
        "source": "lora.txt",
        "expected_answer": "LoRA 冻结预训练权重，只训练低秩矩阵。",
        "keywords": [["lora"], ["冻结"], ["训练"], ["权重"], ["矩阵"]],
        "scope": {"source": ["lora.txt"]},
        "rating": "down",
        "reason": "答非所问",
        "owner": "ana",
    }
    assert {k: v for k, v in lines[1].items() if k != "rated_at"} == {
        "id": f"feedback-{up}",
        "question": "B 讲什么？",
        "source": "b.pdf",
        "page": 2,
        "evidence": ["别的。"],
        "expected_answer": "别的[1]。",
        "rating": "up",
        "owner": "ana",
    }
    assert [line["rating"] for line in export_lines(store.list(), "down")] == ["down"]
    assert json.loads(json.dumps(lines, ensure_ascii=False)) == lines


def test_keywords_are_the_longest_words_of_the_expected_answer_in_order():
    # The words as retrieval tokenizes them (lower case), two characters or more.
    assert expected_keywords("Softmax 温度[1]越高，分布越平滑。", limit=2) == [
        ["softmax"],
        ["温度"],
    ]
    assert expected_keywords("是的") == []


def test_the_passages_shown_are_read_back_from_the_sources_block():
    docs = [
        Document("LoRA 冻结权重。\n只训练低秩矩阵 <b>。", metadata={"source": "lora.txt"}),
        Document(
            "多头。", metadata={"source": "a.md", "title": "注意力", "heading": "注意力 > 多头"}
        ),
    ]
    assert sources_passages(sources_html(docs)) == [
        {
            "source": "lora.txt",
            "location": "lora.txt",
            "text": "LoRA 冻结权重。\n只训练低秩矩阵 <b>。",
        },
        {"source": "a.md", "location": "注意力 · 多头", "text": "多头。"},
    ]


def test_a_like_on_an_answer_or_its_sources_rates_that_turn():
    chat = [
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1"},
        {"role": "assistant", "content": sources_html([])},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "A2"},
    ]
    assert rated_turn(chat, 1) == ("Q1", "A1", sources_html([]))
    assert rated_turn(chat, 2) == ("Q1", "A1", sources_html([]))
    assert rated_turn(chat, 4) == ("Q2", "A2", "")
    assert rated_turn(chat, 0) is None and rated_turn(chat, 9) is None


def test_the_scope_line_names_the_notes_by_title_and_the_heading():
    titles = {"a.md": "注意力机制", "b.txt": "一段很长很长很长很长很长很长很长很长很长的第一行文字"}
    assert scope_note([], "", titles) == ""
    assert scope_note(["a.md"], "多头注意力", titles) == (
        "🎯 只在 《注意力机制》 › 多头注意力 中查找 · Searching only 注意力机制 › 多头注意力"
    )
    assert scope_note(["a.md"], "注意力机制 > 多头注意力", titles) == (
        "🎯 只在 《注意力机制》 › 多头注意力 中查找 · Searching only 注意力机制 › 多头注意力"
    )
    assert scope_note([], "注意力机制 > 多头注意力", titles).startswith(
        "🎯 只在 注意力机制 › 多头注意力 中查找"
    )
    assert scope_note(["b.txt"], "", titles) == (
        "🎯 只在 《一段很长很长很长很长很长很长很长很长很长的第一…》 中查找"
        " · Searching only 一段很长很长很长很长很长很长很长很长很长的第一…"
    )


def test_an_old_conversations_file_gains_the_scope_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "c.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE conversations (id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT "
        "NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, turns INTEGER NOT NULL "
        "DEFAULT 0, messages TEXT NOT NULL DEFAULT '[]')"
    )
    old.execute("INSERT INTO conversations VALUES ('c1', 'ana', '旧对话', 1, 2, 1, '[1]')")
    old.commit()
    old.close()
    store = ConversationStore(path)
    assert [(c.id, c.title) for c in store.list("ana")] == [("c1", "旧对话")]
    assert store.messages("c1", "ana") == [1]
    assert store.scope("c1", "ana") == {}
    assert store.set_scope("c1", "ana", {"source": ["a.md"]}) is True
    assert store.set_scope("c1", "bob", {}) is False
    store.close()
    assert ConversationStore(path).scope("c1", "ana") == {"source": ["a.md"]}
