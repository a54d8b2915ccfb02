"""Pure formatting for the web app: sources as HTML, tables, status lines, chat history.

Nothing here touches Gradio or the store, so it is easy to test and reuse.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from rag.services import FileRecord, IngestProgress, PassageContext, SetAside, UploadOutcome

#: Every sources block starts with this, so chat history can tell it from answers.
SOURCES_MARK = '<div class="nqa-sources">'

FILE_HEADERS = ["文件 File", "片段 Chunks", "页数 Pages", "索引时间 Ingested"]

STATUS_LABELS = {
    "added": "✅ 新增 added",
    "updated": "🔄 更新 updated",
    "unchanged": "⏸️ 未变 unchanged",
    "failed": "❌ 失败 failed",
    "deleted": "🗑️ 已删除 deleted",
}

#: Links to a passage in the viewer start with this (see :func:`passage_href`).
PASSAGE_HREF = "#nqa-passage:"

_BLANK_LINES_RE = re.compile(r"\n\s*\n+")
#: Markdown images, inline ``![alt](url)`` or by reference ``![alt][ref]``.
_MD_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])?")
#: The start of anything the browser could read as an HTML tag, comment or declaration.
_TAG_START_RE = re.compile(r"<(?=[A-Za-z/!?])")
_CITATION_RE = re.compile(r"\[(\d{1,2})\]")
_CITE_LINK_RE = re.compile(r'<a class="nqa-cite"[^>]*>(\[\d{1,2}\])</a>')
#: Fenced code blocks and inline code spans (kept as written).
_CODE_RE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
_PREVIEW_CHARS = 60


def inert_markdown(text: str) -> str:
    """Text from a note, a question or the model, made safe to show as Markdown.

    Nothing in it may make the browser load anything: Markdown images become
    their alt text, and every HTML tag is escaped so it shows as typed (an
    ``<img>``, ``<iframe>`` or a ``style`` with a ``url()`` stays text).
    Plain Markdown (emphasis, lists, tables, code, LaTeX, links one must
    click) is kept.

    Args:
        text: Untrusted text.

    Returns:
        The same text, inert.
    """
    text = _MD_IMAGE_RE.sub(lambda m: f"[🖼 {m.group(1) or 'image'}]", text)
    return _TAG_START_RE.sub("&lt;", text)


def source_location(meta: dict[str, Any]) -> str:
    """Where a passage comes from: ``note title · 第N页 · heading`` (no title: the file)."""
    title = str(meta.get("title") or meta.get("source") or "?")
    heading = str(meta.get("heading") or "")
    if heading.startswith(title):  # the note's title is its first heading: say it once
        heading = heading[len(title) :].lstrip(" >")
    parts = [title]
    if meta.get("page"):
        parts.append(f"第{meta['page']}页")
    if heading:
        parts.append(heading)
    return " · ".join(parts)


def _file_html(meta: dict[str, Any]) -> str:
    """The file name after a note's title (nothing when the title is the file name)."""
    source = str(meta.get("source") or "")
    if not meta.get("title") or not source:
        return ""
    return f'<span class="nqa-file"> ({html.escape(source)})</span>'


def _passage_html(text: str) -> str:
    """Escaped passage text on one line: newlines become ``<br>``, no blank lines.

    A blank line would end the HTML block for the Markdown renderer, so the
    whole sources block is kept on a single line.
    """
    text = _BLANK_LINES_RE.sub("\n", text.strip())
    return html.escape(text).replace("\n", "<br>")


def passage_href(doc: Document) -> str:
    """The link that opens a passage in the viewer (its chunk id after ``#nqa-passage:``)."""
    return PASSAGE_HREF + quote(str(doc.id or ""), safe="")


def passage_id(href: str) -> str:
    """The chunk id in a :func:`passage_href` link (or a bare id)."""
    ref = (href or "").strip()
    if PASSAGE_HREF in ref:
        ref = ref.split(PASSAGE_HREF, 1)[1]
    return unquote(ref)


def _source_item(number: int, doc: Document, cited: bool) -> str:
    meta = doc.metadata
    preview = " ".join(doc.page_content.split())
    if len(preview) > _PREVIEW_CHARS:
        preview = preview[:_PREVIEW_CHARS] + "…"
    where = html.escape(source_location(meta))
    if doc.id:  # the title opens the viewer; the rest of the line expands the passage
        where = (
            f'<a class="nqa-open" href="{passage_href(doc)}" '
            f'title="在原文中查看 View in context">{where}</a>'
        )
    cls = "nqa-source nqa-cited" if cited else "nqa-source"
    return (
        f'<details class="{cls}"><summary><b>[{number}]</b> '
        f'<span class="nqa-where">{where}</span>'
        f"{_file_html(meta)}"
        f'<span class="nqa-preview"> — {html.escape(preview)}</span></summary>'
        f'<div class="nqa-passage">{_passage_html(doc.page_content)}</div></details>'
    )


def sources_html(
    docs: Sequence[Document],
    *,
    refused: bool = False,
    cited: Sequence[int] | None = None,
    answer: str | None = None,
) -> str:
    """Numbered, expandable sources ``[1]``…``[k]`` matching the answer's citations.

    Args:
        docs: Retrieved passages, best first.
        refused: Label them as the nearest passages of a refused question.
        cited: The numbers the finished answer cites: those sources come first,
            the others are folded under "其他来源 Other sources". None while
            the answer is being written (all in rank order).
        answer: The finished answer: the block then carries the text the
            answer's copy button copies (:func:`copy_text`), hidden.

    Returns:
        One line of HTML: a title and a ``<details>`` element per passage.
    """
    title = "🔍 最接近的段落 Nearest passages" if refused else "📚 来源 Sources"
    if not docs:
        return (
            f'{SOURCES_MARK}<div class="nqa-sources-title">{title}</div>'
            '<div class="nqa-empty">没有找到相关段落。No passages found.</div></div>'
        )
    numbers = set(cited or ())
    numbered = list(enumerate(docs, start=1))
    first = [(n, d) for n, d in numbered if n in numbers] if numbers else numbered
    others = [(n, d) for n, d in numbered if n not in numbers] if numbers else []
    items = "".join(_source_item(n, d, n in numbers) for n, d in first)
    if others:
        items += (
            '<details class="nqa-other"><summary>其他来源 Other sources · '
            f"{len(others)}</summary>"
            f"{''.join(_source_item(n, d, False) for n, d in others)}</details>"
        )
    copy = ""
    if answer is not None:
        text = html.escape(copy_text(answer, docs, cited or ())).replace("\n", "&#10;")
        copy = f'<code class="nqa-copy" hidden>{text}</code>'
    return (
        f'{SOURCES_MARK}<div class="nqa-sources-title">{title} · {len(docs)}</div>'
        f"{items}{copy}</div>"
    )


def source_line(number: int, doc: Document) -> str:
    """``[n] note title · location (file)``: a source as one line of text."""
    meta = doc.metadata
    line = f"[{number}] {source_location(meta)}"
    if meta.get("title") and meta.get("source"):
        line += f" ({meta['source']})"
    return line


def copy_text(answer: str, docs: Sequence[Document], cited: Sequence[int]) -> str:
    r"""What an answer's copy button copies: its text, then one line per source it cites.

    ``"…注意力机制让模型关注相关部分[1]。\n\n[1] 注意力机制 · 多头注意力 (attention.md)"``.
    """
    text = strip_citation_links(answer).strip()
    lines = [source_line(n, docs[n - 1]) for n in sorted(set(cited)) if 0 < n <= len(docs)]
    return text + ("\n\n" + "\n".join(lines) if lines else "")


def link_citations(text: str, docs: Sequence[Document]) -> str:
    """The answer with each ``[n]`` a link that opens passage n in the viewer.

    Markers out of range, of passages without an id, and inside code are left as they are.
    """

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if not 0 < number <= len(docs) or not docs[number - 1].id:
            return match.group(0)
        doc = docs[number - 1]
        where = html.escape(source_location(doc.metadata), quote=True)
        return f'<a class="nqa-cite" href="{passage_href(doc)}" title="{where}">[{number}]</a>'

    parts = _CODE_RE.split(text)
    return "".join(part if i % 2 else _CITATION_RE.sub(link, part) for i, part in enumerate(parts))


def strip_citation_links(text: str) -> str:
    """Undo :func:`link_citations`: the plain ``[n]`` markers."""
    return _CITE_LINK_RE.sub(r"\1", text)


def check_notes(
    reason: str,
    unknown: Sequence[str],
    dropped: Sequence[tuple[str, Sequence[str]]],
    unanswered: Sequence[str] = (),
    refused: bool = False,
) -> str:
    """What the checks did to an answer, as a Markdown quote ("" when nothing to say).

    Args:
        reason: The support verdict (``unknown_terms``, ``value_not_in_notes``,
            ``low_similarity``, ``partial`` or "").
        unknown: Terms of the question the notes never mention.
        dropped: Sentences dropped for figures no passage holds, with those figures.
        unanswered: Parts whose value the written answer did not take from the passages.
        refused: Whether the answer became the refusal after it was written.
    """
    notes = []
    if reason == "unknown_terms" and unknown:
        terms = "、".join(unknown)
        notes.append(f"笔记里没有出现：{terms}。 Your notes never mention: {', '.join(unknown)}.")
    elif reason == "value_not_in_notes":
        notes.append(
            "笔记谈到了这个主题，但没有给出你问的具体信息（数字、年份、名字）。"
            " The notes discuss this, but do not give the specific figure, date or name asked."
        )
    elif reason == "partial":
        notes.append("只回答了笔记覆盖的部分。 Only the parts your notes cover are answered.")
    if unanswered and refused:
        notes.append(
            "写出的回答没有给出笔记里的依据，已改为“没有找到”。"
            " The written answer gave no value the passages state for what you asked,"
            " so it was withdrawn."
        )
    if dropped:
        figures = "、".join(dict.fromkeys(f for _, fs in dropped for f in fs))
        notes.append(
            f"已删去 {len(dropped)} 句笔记中没有依据的内容（{figures}）。"
            f" Removed {len(dropped)} sentence(s) stating what no passage says ({figures})."
        )
    return "\n".join(f"> ℹ️ {note}" for note in notes)


def message_text(message: Any) -> str:
    """The plain text of one chat message, whatever its shape.

    Gradio 6 hands messages to handlers as dicts whose ``content`` is a list of
    ``{"type": "text", "text": ...}`` parts; older shapes (a plain string,
    :class:`gradio.ChatMessage`) are accepted too. Citation links
    (:func:`link_citations`) are plain ``[n]`` markers again.
    """
    content = message.get("content") if isinstance(message, dict) else message.content
    if isinstance(content, str):
        return strip_citation_links(content)
    if isinstance(content, dict):
        content = [content]
    parts = []
    for part in content or []:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type", "text") == "text":
            parts.append(str(part.get("text", "")))
    return strip_citation_links("".join(parts))


def message_role(message: Any) -> str:
    """The role of one chat message (``user`` or ``assistant``)."""
    return str(message.get("role", "") if isinstance(message, dict) else message.role)


def history_pairs(messages: Iterable[Any]) -> list[tuple[str, str]]:
    """Turn chatbot messages into ``(question, answer)`` text pairs for the answer chain.

    Sources blocks and unanswered questions are left out.

    Args:
        messages: The chatbot's value.

    Returns:
        The completed turns, oldest first.
    """
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for message in messages or []:
        role, text = message_role(message), message_text(message)
        if role == "user":
            question = text
        elif role == "assistant" and question is not None and not text.startswith(SOURCES_MARK):
            pairs.append((question, text))
            question = None
    return pairs


def format_time(timestamp: float) -> str:
    """A local ``YYYY-MM-DD HH:MM`` time."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def file_rows(records: Sequence[FileRecord]) -> list[list[Any]]:
    """Rows of the knowledge-base table (see :data:`FILE_HEADERS`)."""
    return [[r.source, r.chunks, r.pages or "–", format_time(r.ingested_at)] for r in records]


def set_aside_rows(entries: Sequence[SetAside]) -> list[list[Any]]:
    """Table rows for files that could not be ingested: no chunks, and the reason."""
    return [[e.source, 0, "–", f"⚠️ 未能索引 not indexed: {e.reason}"] for e in entries]


def kb_summary(records: Sequence[FileRecord]) -> str:
    """``N 个文件 · M 个片段`` for the status line."""
    chunks = sum(r.chunks for r in records)
    return f"{len(records)} 个文件 files · {chunks} 个片段 chunks"


def progress_text(progress: IngestProgress) -> str:
    """A one-line description of a running ingest."""
    if progress.waiting:
        return "⏳ 等待另一个索引任务完成… Waiting for another ingest"
    text = f"⏳ 正在索引 Indexing {progress.files_done}/{progress.files_total} 个文件"
    if progress.current:
        text += f" · {progress.current}"
    if progress.chunks_embedded:
        text += f" · 已嵌入 {progress.chunks_embedded} 个片段"
    return text


def outcomes_markdown(outcomes: Sequence[UploadOutcome]) -> str:
    """A Markdown table of upload outcomes, one row per file."""
    if not outcomes:
        return "请先选择要上传的文件。Choose files to upload first."
    lines = ["| 文件 File | 结果 Result | 片段 Chunks | 说明 Details |", "|---|---|---|---|"]
    for o in outcomes:
        details = o.error or o.note or ""
        if o.source and o.source != o.name:
            details = f"保存为 saved as `{o.source}`" + (f"；{details}" if details else "")
        chunks = str(o.chunks) if o.status != "failed" else "–"
        cells = [o.name, STATUS_LABELS.get(o.status, o.status), chunks, details]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    ok = sum(o.status != "failed" for o in outcomes)
    failed = len(outcomes) - ok
    summary = f"**{ok} 个文件已入库 ingested**"
    if failed:
        summary += f"，**{failed} 个失败 failed**"
    return summary + "\n\n" + "\n".join(lines)


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def file_result_markdown(
    action: str, source: str, status: str, chunks: int, error: str | None
) -> str:
    """One line describing the outcome of a delete or re-index."""
    if status == "failed":
        return f"❌ {action}失败 `{source}`：{error}"
    if status == "deleted":
        return f"🗑️ 已删除 Deleted `{source}`（{chunks} 个片段 chunks）"
    return f"✅ {action} `{source}`：{STATUS_LABELS.get(status, status)}，{chunks} 个片段 chunks"


def writing_note(seconds: int) -> str:
    """The line under a still-empty (or paused) answer while the model works."""
    elapsed = f" {seconds} 秒 · {seconds} s" if seconds else ""
    return f"\n\n✍️ 正在生成回答… Writing the answer…{elapsed}"


class _SourcesText(HTMLParser):
    """The text of a sources block: one line per source, its passage quoted under it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self._parts: list[str] = []
        self._in_preview = False
        self._in_passage = False
        self._in_copy = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if tag == "br":
            self._parts.append("\n")
        elif "nqa-preview" in cls:
            self._in_preview = True
        elif "nqa-copy" in cls:
            self._in_copy = True
        elif "nqa-passage" in cls:
            self._flush()
            self._in_passage = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_preview = False
        elif tag == "code":
            self._in_copy = False
        elif tag in ("summary", "div") and not self._in_passage:
            self._flush()
        elif tag == "div" and self._in_passage:
            self._flush(quote=True)
            self._in_passage = False

    def handle_data(self, data: str) -> None:
        if not self._in_preview and not self._in_copy:
            self._parts.append(data)

    def _flush(self, quote: bool = False) -> None:
        text = "".join(self._parts).strip()
        self._parts = []
        if text:
            self.lines.append("\n".join(f"> {t}" for t in text.splitlines()) if quote else text)


def sources_text(block: str) -> str:
    """A sources block (:func:`sources_html`) as Markdown text."""
    parser = _SourcesText()
    parser.feed(block)
    parser.close()
    return "\n\n".join(parser.lines)


def conversation_markdown(title: str, messages: Iterable[Any]) -> str:
    """A conversation as Markdown: each question, its answer with citations, its sources."""
    out = [f"# {title}", ""]
    for message in messages:
        role, text = message_role(message), message_text(message)
        if role == "user":
            out += [f"## 问 Q: {text}", ""]
        elif text.startswith(SOURCES_MARK):
            out += [sources_text(text), ""]
        else:
            out += [text, ""]
    return "\n".join(out).rstrip() + "\n"


def _viewer_text(text: str) -> str:
    """Escaped text on one line, its line breaks kept as ``<br>``."""
    return html.escape(text).replace("\n", "<br>")


def viewer_header(ctx: PassageContext) -> str:
    """The viewer's first lines: the note's title, then its file and where the passage is."""
    if not ctx.source:
        return '<div class="nqa-viewer-title">📄 原文 Passage</div>'
    meta = ctx.metadata or {}
    title = str(meta.get("title") or ctx.source)
    where = [html.escape(Path(ctx.source).name)]
    if ctx.kind == "pdf" and meta.get("page"):
        total = f" / {ctx.pages}" if ctx.pages else ""
        where.append(f"第 {meta['page']}{total} 页 page {meta['page']}{total}")
    elif ctx.heading:
        where.append(html.escape(ctx.heading))
    return (
        f'<div class="nqa-viewer-title">📄 {html.escape(title)}</div>'
        f'<div class="nqa-viewer-meta">{" · ".join(where)}</div>'
    )


def viewer_body(ctx: PassageContext) -> str:
    """The passage in its context, highlighted with ``<mark>``, as one line of HTML."""
    out = []
    if ctx.error:
        out.append(f'<div class="nqa-viewer-error">⚠️ {html.escape(ctx.error)}</div>')
    excerpt = ctx.context
    if ctx.kind == "pdf":
        note = (
            "页面上的黄色高亮就是引用的段落。"
            " The yellow highlight on the page is the cited passage."
            if ctx.located
            else "未能在页面上定位这段文字，下面是它的原文。"
            " The passage could not be located on the page; its text is below."
        )
        out.append(f'<div class="nqa-viewer-note">{note}</div>')
        if ctx.highlight_top is not None:  # the page script scrolls the panel to it
            out.append(f'<span class="nqa-at" hidden>{ctx.highlight_top:.3f}</span>')
    elif ctx.kind == "text" and not ctx.located:
        out.append(
            '<div class="nqa-viewer-note">笔记在索引后改动过，没有找到这段原文；'
            "下面是索引时的内容。"
            " The note changed since it was indexed; the passage is shown as indexed.</div>"
        )
    if excerpt is not None:
        text = _viewer_text(excerpt.before)
        if excerpt.passage:
            text += f'<mark class="nqa-mark">{_viewer_text(excerpt.passage)}</mark>'
        text += _viewer_text(excerpt.after)
        if excerpt.cut_before:
            text = "…" + text
        if excerpt.cut_after:
            text += "…"
        out.append(f'<div class="nqa-viewer-text">{text}</div>')
    return f'<div class="nqa-viewer-body">{"".join(out)}</div>'


class _SourcesPassages(HTMLParser):
    """The passages of a sources block: their location, file and full text."""

    def __init__(self) -> None:
        super().__init__()
        self.passages: list[dict[str, Any]] = []
        self._field: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if "nqa-source" in cls.split():
            self.passages.append({"source": "", "location": "", "text": ""})
        elif self.passages and cls in ("nqa-where", "nqa-file", "nqa-passage"):
            self._field, self._depth = cls, 0
        elif tag == "br" and self._field == "nqa-passage":
            self.passages[-1]["text"] += "\n"
        if self._field and tag != "br":
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._field:
            self._depth -= 1
            if self._depth <= 0:
                self._field = None

    def handle_data(self, data: str) -> None:
        if not self._field or not self.passages:
            return
        key = {"nqa-where": "location", "nqa-file": "source", "nqa-passage": "text"}[self._field]
        self.passages[-1][key] += data


def sources_passages(block: str) -> list[dict[str, Any]]:
    """The passages a sources block (:func:`sources_html`) showed: source, location, text."""
    parser = _SourcesPassages()
    parser.feed(block)
    parser.close()
    out = []
    for passage in parser.passages:
        location = passage["location"].strip()
        source = passage["source"].strip().removeprefix("(").removesuffix(")").strip()
        out.append(
            {
                # Without a title the location starts with the file itself.
                "source": source or location.split(" · ")[0],
                "location": location,
                "text": passage["text"].strip(),
            }
        )
    return out


def rated_turn(messages: Sequence[Any], index: int) -> tuple[str, str, str] | None:
    """The turn that a like of message ``index`` rates: question, answer, sources block.

    Gradio reports the first message of a bubble; the answer and its sources
    block share one, so either index finds the turn.

    Returns:
        The question, the answer text and the sources block ("" if none), or
        None when ``index`` is not an answer to a question.
    """
    if not 0 <= index < len(messages) or message_role(messages[index]) != "assistant":
        return None
    start = index
    while start >= 0 and message_role(messages[start]) != "user":
        start -= 1
    if start < 0:
        return None
    answer = block = ""
    for message in messages[start + 1 :]:
        if message_role(message) == "user":
            break
        text = message_text(message)
        if text.startswith(SOURCES_MARK):
            block = block or text
        elif not answer:
            answer = text
    return message_text(messages[start]), answer, block


def scope_note(sources: Sequence[str], heading: str, titles: dict[str, str]) -> str:
    """The line that says where questions search ("" for every note).

    Args:
        sources: The chosen notes (source ids).
        heading: The chosen heading ("" for none).
        titles: Display titles by source id.
    """
    if not sources and not heading:
        return ""
    for title in (titles.get(s, s) for s in sources):  # the note is named already
        if heading.startswith(title + " > "):
            heading = heading[len(title) + 3 :]
    heading = heading.replace(" > ", " › ")
    names = "、".join(f"《{short_title(titles.get(s, s))}》" for s in sources)
    names_en = ", ".join(short_title(titles.get(s, s)) for s in sources)
    where = names + (f" › {heading}" if heading else "") if names else heading
    where_en = names_en + (f" › {heading}" if heading else "") if names_en else heading
    return f"🎯 只在 {where} 中查找 · Searching only {where_en}"


def short_title(title: str, limit: int = 24) -> str:
    """A note's title cut to ``limit`` characters (a first line can be a whole sentence)."""
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1] + "…"


#: The first message of a reopened long conversation whose earlier turns stay saved, not shown.
EARLIER_MARK = '<div class="nqa-earlier"'
_EARLIER_RE = re.compile(r'^<div class="nqa-earlier" data-hidden="(\d+)">')


def earlier_note(hidden: int, turns: int) -> str:
    """The message standing for ``hidden`` messages (``turns`` turns) not shown."""
    return (
        f'{EARLIER_MARK} data-hidden="{hidden}">⬆️ 前面还有 {turns} 轮对话，已保存，'
        f"点“显示全部”查看。 {turns} earlier turns are saved: “Show all” shows them.</div>"
    )


def visible_tail(messages: Sequence[Any], max_turns: int) -> list[Any]:
    """A conversation as a reopened page shows it: its last ``max_turns`` turns.

    The earlier ones are replaced by one :func:`earlier_note` message, which
    :func:`with_hidden` expands again before the chat is saved.
    """
    starts = [i for i, m in enumerate(messages) if message_role(m) == "user"]
    if len(starts) <= max_turns:
        return list(messages)
    cut = starts[-max_turns]
    hidden_turns = len(starts) - max_turns
    note = {"role": "assistant", "content": earlier_note(cut, hidden_turns)}
    return [note, *messages[cut:]]


def hidden_count(messages: Sequence[Any]) -> int:
    """How many saved messages the chat's :func:`earlier_note` stands for (0: none)."""
    if not messages:
        return 0
    match = _EARLIER_RE.match(message_text(messages[0]))
    return int(match.group(1)) if match else 0


def with_hidden(messages: Sequence[Any], saved: Sequence[Any]) -> list[Any]:
    """The whole conversation: the saved messages a shown chat left out, then the chat."""
    hidden = hidden_count(messages)
    if not hidden:
        return list(messages)
    return [*saved[:hidden], *messages[1:]]
