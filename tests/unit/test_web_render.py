"""Pure rendering of the web page: sources blocks and chat history."""

from __future__ import annotations

from dataclasses import replace

from langchain_core.documents import Document

from rag.services import Excerpt, PassageContext
from rag.web.render import (
    SOURCES_MARK,
    check_notes,
    copy_text,
    history_pairs,
    link_citations,
    message_text,
    passage_id,
    sources_html,
    sources_text,
    strip_citation_links,
    viewer_body,
    viewer_header,
)


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
    withdrawn = check_notes("", (), (), ("文心一言是哪家公司开发的",), refused=True)
    assert withdrawn.startswith("> ℹ️ 写出的回答没有给出笔记里的依据，已改为“没有找到”。")


ATT = Document(
    "多头注意力把表示拆成多个子空间。",
    id="c1",
    metadata={
        "source": "attention.md",
        "title": "注意力机制",
        "heading": "注意力机制 > 多头注意力",
    },
)
LORA = Document("LoRA 冻结预训练权重。", id="c/2", metadata={"source": "lora.txt"})


def test_citations_link_to_their_passages_and_come_back_as_plain_markers() -> None:
    text = "多头注意力拆分子空间[1]。LoRA[2][3]。`a[1]` 代码"
    linked = link_citations(text, [ATT, LORA])
    assert linked == (
        '多头注意力拆分子空间<a class="nqa-cite" href="#nqa-passage:c1" '
        'title="注意力机制 · 多头注意力">[1]</a>。LoRA<a class="nqa-cite" '
        'href="#nqa-passage:c%2F2" title="lora.txt">[2]</a>[3]。`a[1]` 代码'
    )
    assert strip_citation_links(linked) == text
    assert message_text({"role": "assistant", "content": linked}) == text
    assert passage_id("#nqa-passage:c%2F2") == "c/2" == passage_id("c/2")


def test_cited_sources_come_first_and_the_others_are_folded() -> None:
    third = Document("第三段。", id="c3", metadata={"source": "x.txt"})
    block = sources_html([ATT, LORA, third], cited=[2])
    assert block.index("<b>[2]</b>") < block.index("<b>[1]</b>") < block.index("<b>[3]</b>")
    folded = block[block.index('<details class="nqa-other">') :]
    assert folded.startswith(
        '<details class="nqa-other"><summary>其他来源 Other sources · 2</summary>'
    )
    assert "<b>[1]</b>" in folded and "<b>[3]</b>" in folded and "<b>[2]</b>" not in folded
    assert '<details class="nqa-source nqa-cited"><summary><b>[2]</b>' in block
    assert 'href="#nqa-passage:c1"' in block
    assert "nqa-other" not in sources_html([ATT, LORA])  # still being written: rank order
    assert "nqa-other" not in sources_html([ATT, LORA], cited=[])  # nothing cited


def test_the_copy_text_is_the_answer_and_its_citations_without_html() -> None:
    answer = link_citations("拆成子空间 $d_k$[1]。\n\n再说 LoRA[2]。", [ATT, LORA])
    assert copy_text(answer, [ATT, LORA], [2, 1, 1]) == (
        "拆成子空间 $d_k$[1]。\n\n再说 LoRA[2]。\n\n"
        "[1] 注意力机制 · 多头注意力 (attention.md)\n[2] lora.txt"
    )
    assert copy_text("没有引用。", [ATT], []) == "没有引用。"
    block = sources_html([ATT, LORA], cited=[1], answer="a < b[1]\n\nc")
    assert "\n" not in block
    assert (
        '<code class="nqa-copy" hidden>a &lt; b[1]&#10;&#10;c&#10;&#10;'
        "[1] 注意力机制 · 多头注意力 (attention.md)</code>"
    ) in block
    assert sources_text(block) == sources_text(sources_html([ATT, LORA], cited=[1]))


def test_the_viewer_marks_the_passage_in_its_escaped_section() -> None:
    ctx = PassageContext(
        source="notes/attention.md",
        metadata=dict(ATT.metadata),
        kind="text",
        passage="多头 <b>注意力</b>",
        heading="注意力机制 > 多头注意力",
        context=Excerpt("前文 $x$\n", "多头 <b>注意力</b>", "\n后文", cut_after=True),
        located=True,
    )
    assert viewer_header(ctx) == (
        '<div class="nqa-viewer-title">📄 注意力机制</div>'
        '<div class="nqa-viewer-meta">attention.md · 注意力机制 &gt; 多头注意力</div>'
    )
    assert viewer_body(ctx) == (
        '<div class="nqa-viewer-body"><div class="nqa-viewer-text">前文 $x$<br>'
        '<mark class="nqa-mark">多头 &lt;b&gt;注意力&lt;/b&gt;</mark><br>后文…</div></div>'
    )
    pdf = PassageContext(
        source="a.pdf",
        metadata={"source": "a.pdf", "page": 4},
        kind="pdf",
        pages=9,
        context=Excerpt("", "第四页", ""),
    )
    assert "a.pdf · 第 4 / 9 页 page 4 / 9" in viewer_header(pdf)
    assert "could not be located on the page" in viewer_body(pdf)
    assert '<mark class="nqa-mark">第四页</mark>' in viewer_body(pdf)
    assert "nqa-at" not in viewer_body(pdf)
    shown = replace(pdf, located=True, highlight_top=0.5)
    assert '<span class="nqa-at" hidden>0.500</span>' in viewer_body(shown)
