"""Pure rendering of the web page: sources blocks and chat history."""

from __future__ import annotations

from langchain_core.documents import Document

from rag.web.render import SOURCES_MARK, check_notes, history_pairs, sources_html


def test_sources_html_numbers_escapes_and_labels() -> None:
    docs = [
        Document("a <b>bold</b>\n\n\nnext", metadata={"source": "x.md", "heading": "H"}),
        Document("page text", metadata={"source": "y.pdf", "page": 3}),
    ]
    block = sources_html(docs)
    assert block.startswith(SOURCES_MARK) and "\n" not in block
    assert "<b>[1]</b>" in block and "<b>[2]</b>" in block
    assert "x.md · H" in block and "y.pdf · 第3页" in block
    assert "&lt;b&gt;bold&lt;/b&gt;<br>next" in block
    assert "来源" in block
    assert "最接近" in sources_html(docs, refused=True)
    assert "No passages" in sources_html([])


def test_history_pairs_skips_sources_and_unanswered() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "q1"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a1 [1]"}]},
        {"role": "assistant", "content": SOURCES_MARK + "...</div>"},
        {"role": "user", "content": "q2"},
    ]
    assert history_pairs(history) == [("q1", "a1 [1]")]


def test_check_notes_say_what_the_checks_did():
    assert check_notes("", (), ()) == ""
    assert check_notes("unknown_terms", ("dpo",), ()) == (
        "> ℹ️ 笔记里没有出现：dpo。 Your notes never mention: dpo."
    )
    dropped = (("它在 MMLU 上得了 86 分[1]。", ("MMLU", "86")),)
    notes = check_notes("partial", (), dropped).split("\n")
    assert notes[0].startswith("> ℹ️ 只回答了笔记覆盖的部分。")
    assert notes[1].startswith("> ℹ️ 已删去 1 句笔记中没有依据的内容（MMLU、86）。")
