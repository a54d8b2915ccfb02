"""The Gradio 6 web app: chat with cited, streamed answers; upload and manage notes.

:func:`build_app` assembles the page from :class:`~rag.services.NotesQA`
(created from settings unless given). Layout:

* a header with the title and a status line (store size, models, first-start
  ingest progress);
* left: the chat. Each answer's sources (``[1]``…``[k]``, expandable to the
  passage) appear under it as soon as retrieval finishes, then the answer
  streams in above them;
* a citation ``[n]`` or a source's title opens the viewer, a panel over the
  page with the passage in its note (its section, or its PDF page with the
  passage highlighted) and the note's file to download; the page script
  (:mod:`rag.web.scripts`) turns those clicks into the hidden ``/passage`` event and
  makes an answer's copy button copy its text with its citations;
* right: upload (several ``.txt`` / ``.md`` / ``.pdf`` at once, with a progress
  bar and a per-file result) and the knowledge-base table with delete and
  re-index of the selected file.

The chat's scope selector (notes by title, then a heading of the chosen notes)
keeps the conversation's questions to them, and its line above the question box
says so; each answer takes a 👍/👎 (a 👎 opens a small form for a reason and the
expected answer).

API names (for ``gradio_client``): ``/ask`` (question, chat, optionally the
scope's notes and heading; returns the chat and an update of the question box,
which only the first update empties), ``/passage`` (a
passage's link or chunk id: the viewer's header, page image, passage in context
and download), ``/rate`` (chat, index of the answer,
``up``/``down``, reason, expected answer, scope), ``/upload``, ``/list_files``,
``/delete_file``, ``/reindex_file``, ``/status``. Store changes run one at a
time (``concurrency_id="ingest"``, limit 1, plus a lock in the services);
questions are answered meanwhile.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import gradio as gr
from gradio.utils import get_upload_folder as gradio_upload_folder
from starlette.middleware import Middleware

from rag.config import apply_offline_env
from rag.services import (
    SUPPORTED_SUFFIXES,
    IngestProgress,
    NotesQA,
    PassageContext,
    QuestionError,
    Scope,
    ScopeError,
)
from rag.web.guard import LoginThrottle, WebGuard
from rag.web.heartbeat import with_heartbeat
from rag.web.render import (
    FILE_HEADERS,
    check_notes,
    conversation_markdown,
    file_result_markdown,
    file_rows,
    format_time,
    hidden_count,
    history_pairs,
    inert_markdown,
    kb_summary,
    link_citations,
    outcomes_markdown,
    passage_id,
    progress_text,
    rated_turn,
    scope_note,
    set_aside_rows,
    short_title,
    sources_html,
    sources_passages,
    viewer_body,
    viewer_header,
    visible_tail,
    with_hidden,
    writing_note,
)
from rag.web.scripts import APP_HEAD, SCROLL_TO_PASSAGE_JS
from rag.web.upload_cache import forget_uploads, purge_copies

if TYPE_CHECKING:
    from rag.config import Settings

logger = logging.getLogger(__name__)

TITLE = "notes-qa · 笔记问答"

#: Seconds between status updates while the first ingest runs.
POLL_SECONDS = 0.5
#: Turns a reopened conversation shows; the earlier ones stay saved ("show all" shows them).
#: The browser's rendering grows with the messages: 200 turns took 3-8 s to show.
OPEN_TURNS = 10
#: Seconds without a new word before the answer shows how long it has waited.
HEARTBEAT = 1.0
#: How much of a refused, too long question the chat shows.
QUOTED_CHARS = 200

APP_CSS = """
.gradio-container { max-width: 1480px !important; margin: 0 auto; }
#nqa-header { align-items: center; gap: 1rem; }
#nqa-header h1 { margin: 0; font-size: 1.6rem; }
#nqa-header p { margin: .2rem 0 0; opacity: .75; }
#nqa-status { text-align: right; font-size: .9rem; }
#nqa-status p { margin: .15rem 0; }
.nqa-sources { margin-top: .1rem; font-size: .9em; }
.nqa-sources-title { font-weight: 600; opacity: .8; margin-bottom: .3rem; }
.nqa-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .3rem .6rem; margin: .3rem 0; background: var(--background-fill-secondary); }
.nqa-source summary { cursor: pointer; line-height: 1.5; }
.nqa-where { font-weight: 600; }
.nqa-file { opacity: .6; font-size: .85em; }
.nqa-preview { opacity: .65; }
.nqa-passage { margin: .45rem 0 .2rem; padding-left: .6rem; line-height: 1.65;
  border-left: 3px solid var(--color-accent); }
.nqa-empty { opacity: .7; }
#nqa-upload-result table, #nqa-action-result table { font-size: .88rem; }
#nqa-files { font-size: .9rem; }
#nqa-files [role="gridcell"], #nqa-files th, #nqa-files td { font-family: var(--font); }
#nqa-ask-row button { white-space: nowrap; }
/* Gradio scopes rules inside @media to the page's content, so the outer
   padding shrinks with the viewport instead. */
.gradio-container .main { padding-left: clamp(6px, 3vw, 32px) !important;
  padding-right: clamp(6px, 3vw, 32px) !important; }
/* The open sidebar pushes the page aside on a wide screen and lies over it on
   a narrow one (0 below 1100 px, 320 px above; no @media for the same reason). */
.sidebar-parent:has(#nqa-sidebar.open) {
  padding-left: clamp(0px, calc((100vw - 1100px) * 1000), 320px) !important; }
/* A phone: the question box takes the row, the buttons share the next one;
   passages and tables wrap instead of widening the page. */
@media (max-width: 640px) {
  #nqa-header, #nqa-main { flex-direction: column; }
  #nqa-header > .column, #nqa-main > .column { width: 100%; min-width: 0 !important; }
  #nqa-ask-row button { flex: 1 1 40% !important; }
  #nqa-files { max-width: calc(100vw - 24px); overflow-x: auto; }
  #nqa-ask-row { flex-wrap: wrap; }
  #nqa-ask-row > :first-child { flex: 1 1 100% !important; min-width: 0 !important; }
  #nqa-status { text-align: left; }
  /* Clear of the sidebar's toggle, which stays at the screen's left edge. */
  #nqa-header h1 { padding-left: 1.7rem; }
}
#nqa-scope-bar { align-items: center; }
#nqa-scope-note { border-left: 3px solid var(--color-accent); padding: .1rem .6rem;
  font-size: .9rem; }
#nqa-scope-note p { margin: 0; }
#nqa-chat .message, #nqa-chat .nqa-passage { overflow-wrap: anywhere; }
/* Sources the answer does not cite: folded, greyed. */
.nqa-other { margin: .35rem 0 .1rem; opacity: .62; }
.nqa-other > summary { cursor: pointer; font-size: .92em; }
.nqa-other:hover, .nqa-other[open] { opacity: .85; }
a.nqa-cite { text-decoration: none; font-weight: 600; color: var(--color-accent); }
a.nqa-cite:hover, a.nqa-open:hover { text-decoration: underline; }
a.nqa-open { color: inherit; text-decoration: none; border-bottom: 1px dotted currentColor; }
.nqa-copy { display: none !important; }
button.nqa-copied { color: var(--color-accent) !important; }
/* The passage viewer: a panel over the right of the page, the whole screen on a phone. */
#nqa-viewer { position: fixed !important; top: 0; right: 0; bottom: 0; z-index: 1000;
  width: min(760px, 100vw) !important; max-width: 100vw; min-width: 0 !important;
  overflow-y: auto; overflow-x: hidden; margin: 0 !important; gap: .5rem;
  padding: .7rem clamp(.6rem, 2vw, 1.2rem) 2rem !important;
  background: var(--background-fill-primary); border-left: 1px solid var(--border-color-primary);
  box-shadow: -6px 0 28px rgba(0, 0, 0, .18); }
/* Nothing in the panel shrinks to fit it: the panel scrolls instead. */
#nqa-viewer > * { flex-shrink: 0 !important; }
#nqa-viewer-top { flex-wrap: nowrap; align-items: flex-start; gap: .5rem;
  position: sticky; top: -0.7rem; z-index: 2; background: var(--background-fill-primary);
  padding: .3rem 0; }
#nqa-viewer-head, #nqa-viewer-head > * { padding: 0 !important; margin: 0 !important; }
#nqa-viewer-top > :first-child { flex: 1 1 auto !important; min-width: 0 !important; }
#nqa-viewer-close { flex: 0 0 auto !important; min-width: 0 !important; width: auto; }
.nqa-viewer-title { font-weight: 700; font-size: 1.1rem; overflow-wrap: anywhere; }
.nqa-viewer-meta { opacity: .65; font-size: .88rem; overflow-wrap: anywhere; }
.nqa-viewer-note { opacity: .7; font-size: .88rem; margin-bottom: .4rem; }
.nqa-viewer-error { color: var(--error-text-color, #b91c1c); margin-bottom: .4rem; }
.nqa-viewer-text { line-height: 1.75; overflow-wrap: anywhere; }
mark.nqa-mark { background: rgba(255, 214, 0, .45); color: inherit; padding: .05em 0;
  border-radius: 2px; box-shadow: 0 0 0 2px rgba(255, 214, 0, .45); }
#nqa-viewer-page img { object-fit: contain; object-position: top; }
#nqa-chat pre, #nqa-chat table { max-width: 100%; overflow-x: auto; }
"""

#: LaTeX in answers, passages and the viewer: $$…$$ and \\[…\\] on a line of their own,
#: $…$ and \\(…\\) in the text.
LATEX_DELIMITERS: list[dict[str, str | bool]] = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "$", "right": "$", "display": False},
]

_CJK_FONTS = [
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "PingFang SC",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "WenQuanYi Zen Hei",
    "sans-serif",
]
_MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


def app_theme() -> gr.themes.Base:
    """A soft theme with system fonts only (no web-font downloads)."""
    return gr.themes.Soft(primary_hue="indigo", font=_CJK_FONTS, font_mono=_MONO_FONTS)


class NotesQABlocks(gr.Blocks):
    """The app's :class:`gradio.Blocks`: launches with its CSS and theme, keeps its services."""

    services: NotesQA

    def launch(self, *args: Any, **kwargs: Any) -> Any:
        """Launch like :meth:`gradio.Blocks.launch`, with the app's CSS and theme by default."""
        kwargs.setdefault("css", APP_CSS)
        kwargs.setdefault("theme", app_theme())
        kwargs.setdefault("head", APP_HEAD)
        settings = self.services.settings
        throttle = LoginThrottle(settings.login_max_failures, settings.login_lockout_seconds)
        app_kwargs = dict(kwargs.get("app_kwargs") or {})
        app_kwargs["middleware"] = [
            *app_kwargs.get("middleware", []),
            Middleware(WebGuard, throttle=throttle),
        ]
        kwargs["app_kwargs"] = app_kwargs
        return super().launch(*args, **kwargs)


def _progress_bar(fraction: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "▓" * filled + "░" * (width - filled) + f" {fraction:.0%}"


class WebHandlers:
    """The event handlers of the page, over one :class:`NotesQA`."""

    def __init__(self, services: NotesQA) -> None:
        """Bind the handlers to services.

        Args:
            services: The app's services.
        """
        self.services = services

    # -- shared outputs ----------------------------------------------------

    def status_markdown(self) -> str:
        """The status line: store size and models, or the first ingest's progress."""
        services = self.services
        initial = services.initial
        if initial.running:
            p = initial.progress
            return (
                f"**正在更新索引：笔记有新增或改动 Indexing new or changed notes**  \n"
                f"{progress_text(p)}  \n`{_progress_bar(p.fraction)}`"
            )
        try:
            records = services.files()
            chunks = services.chunk_count()
        except Exception as exc:  # the store cannot be opened
            logger.exception("cannot read the knowledge base")
            return f"⚠️ 无法打开知识库 Cannot open the store: {exc}"
        settings = services.settings
        text = (
            f"📚 **知识库 Knowledge base**：{kb_summary(records)}  \n"
            f"嵌入 Embeddings `{services.embedding_model}` · "
            f"LLM `{settings.llm_provider}`"
        )
        if chunks == 0:
            text += "  \n💡 知识库为空，请在右侧上传笔记。 Upload notes to start."
        if initial.error:
            text += f"  \n⚠️ 首次索引失败 First ingest failed: {initial.error}"
        elif initial.report is not None and initial.report.failed:
            failed = ", ".join(f.source for f in initial.report.failed)
            text += f"  \n⚠️ 首次索引有文件失败 Failed: {failed}"
        return text

    def kb_outputs(self, selected: str | None = None) -> tuple[list[list[Any]], Any, str]:
        """Table rows, dropdown update and status line after a change."""
        try:
            records, aside = self.services.files(), self.services.set_aside()
        except Exception:
            logger.exception("cannot list files")
            records, aside = [], []
        sources = [r.source for r in records] + [a.source for a in aside]
        value = selected if selected in sources else None
        rows = file_rows(records) + set_aside_rows(aside)
        return rows, gr.update(choices=sources, value=value), self.status_markdown()

    # -- chat --------------------------------------------------------------

    def ask(
        self, question: str, history: list[Any] | None, scope: Scope | None = None
    ) -> Iterator[tuple[list[Any], Any]]:
        """Answer a question: sources first, then the streamed answer above them.

        Args:
            question: The new question.
            history: The chatbot's messages so far.
            scope: Search only these notes / this heading (resolved).

        Yields:
            The updated chat, and the question box: emptied once when the
            question is taken, then left alone (the student may be typing the
            next question meanwhile).
        """
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            yield history, gr.update()
            return
        services = self.services
        try:
            services.check_question(question)
        except QuestionError as exc:  # kept in the box, to be shortened
            shown = inert_markdown(question[:QUOTED_CHARS]) + "…"
            refusal = {"role": "assistant", "content": f"⚠️ {exc}"}
            yield [*history, {"role": "user", "content": shown}, refusal], gr.update()
            return
        pairs = history_pairs(history)
        answer: dict[str, Any] = {"role": "assistant", "content": "🔎 正在检索笔记… Searching…"}
        messages: list[Any] = [
            *history,
            {"role": "user", "content": inert_markdown(question)},
            answer,
        ]
        yield messages, ""
        keep = gr.update()

        services.start_initial_ingest()
        while services.initial.running:
            waiting = progress_text(services.initial.progress)
            answer["content"] = f"⏳ 正在建立索引，请稍候… {waiting}"
            yield messages, keep
            services.initial.done.wait(POLL_SECONDS)

        try:
            if services.chunk_count() == 0:
                answer["content"] = (
                    "知识库还是空的：请先在右侧上传笔记（.txt / .md / .pdf）。\n"
                    "The knowledge base is empty: upload some notes first."
                )
                yield messages, keep
                return
            sources: dict[str, Any] | None = None
            sources_docs: list[Any] = []
            sources_refused = False
            parts: list[str] = []
            started = time.monotonic()
            answering = services.stream_answer(question, pairs, scope=scope)
            for event in with_heartbeat(answering, HEARTBEAT):
                if event is None:  # no words for a while: say how long it has been
                    waited = round(time.monotonic() - started)
                    answer["content"] = link_citations(inert_markdown("".join(parts)), sources_docs)
                    answer["content"] += writing_note(waited)
                elif event.kind == "sources":
                    answer["content"] = writing_note(0)
                    sources = {
                        "role": "assistant",
                        "content": sources_html(event.docs, refused=event.refused),
                    }
                    sources_docs, sources_refused = event.docs, event.refused
                    messages.append(sources)
                elif event.kind == "token":
                    parts.append(event.text)
                    answer["content"] = link_citations(inert_markdown("".join(parts)), sources_docs)
                elif event.kind == "done":
                    text = inert_markdown(event.text or "".join(parts))
                    answer["content"] = link_citations(text, sources_docs)
                    support = event.support
                    notes = check_notes(
                        support.reason if support else "",
                        support.unknown if support else (),
                        event.dropped,
                        event.unanswered,
                        event.refused,
                    )
                    if notes:
                        answer["content"] += "\n\n" + notes
                    if sources is not None:  # cited sources first, and the copy text
                        sources["content"] = sources_html(
                            sources_docs,
                            refused=event.refused or sources_refused,
                            cited=event.cited,
                            answer=text,
                        )
                    if scope and not sources_docs:
                        answer["content"] += (
                            f"\n\n> 🎯 所选范围（{scope.describe()}）中没有找到相关内容，"
                            "可以清除范围后再问。 Nothing in the chosen scope: clear it to"
                            " search every note."
                        )
                yield messages, keep
        except Exception as exc:
            logger.exception("answering %r failed", question)
            answer["content"] = f"⚠️ 回答失败 Could not answer: {exc}"
            yield messages, keep

    def ask_saved(
        self,
        question: str,
        history: list[Any] | None,
        conversation_id: str | None = None,
        request: gr.Request | None = None,
        sources: list[str] | None = None,
        heading: str | None = None,
    ) -> Iterator[tuple[list[Any], Any, str | None]]:
        """:meth:`ask` within the chosen scope, saving the conversation as it happens.

        A conversation is started if none is open; the scope is saved with it.
        A scope naming a note or heading the store lacks gets an error as the
        answer, and nothing is saved.

        Yields:
            The chat, the question box and the open conversation's id.
        """
        owner = request_owner(request)
        question = (question or "").strip()
        if sources or heading:  # checked against the notes as indexed, after a first ingest
            self.services.start_initial_ingest()
            self.services.wait_initial_ingest()
        try:
            scope = self.services.resolve_scope(sources or [], heading or "")
        except ScopeError as exc:
            error = {"role": "assistant", "content": f"⚠️ 范围无效 Invalid scope: {exc}"}
            yield [*(history or []), {"role": "user", "content": question}, error], "", None
            return
        if question and self._conversation(conversation_id, owner) is None:
            conversation_id = self.services.new_conversation(owner, question)
        if question and conversation_id:
            self.services.save_conversation_scope(conversation_id, owner, scope.as_dict())
        messages: list[Any] = list(history or [])
        for messages, box in self.ask(question, history, scope):
            yield messages, box, conversation_id
        if question and conversation_id:
            self.save(conversation_id, owner, messages)

    def _conversation(
        self, conversation_id: str | None, owner: str
    ) -> tuple[str, list[Any]] | None:
        """The owner's open conversation (title, messages), or None (none open, not theirs)."""
        return self.services.conversation(conversation_id, owner) if conversation_id else None

    def save(self, conversation_id: str, owner: str, messages: list[Any]) -> None:
        """Save the chat as the owner's conversation; a failure is logged, not shown.

        A chat that shows only the last turns (:func:`visible_tail`) is saved
        with the earlier ones it left out.
        """
        try:
            if hidden_count(messages):
                found = self._conversation(conversation_id, owner)
                messages = with_hidden(messages, found[1] if found else [])
            turns = len(history_pairs(messages))
            self.services.save_conversation(conversation_id, owner, messages, turns)
        except Exception:
            logger.exception("saving conversation %s failed", conversation_id)

    def conversation_list(self, owner: str, query: str = "", selected: str | None = None) -> Any:
        """The sidebar's list of the owner's conversations."""
        choices = [
            (f"{c.title} · {format_time(c.updated_at)}", c.id)
            for c in self.services.conversations(owner, query)
        ]
        value = selected if selected in {v for _, v in choices} else None
        return gr.update(choices=choices, value=value)

    def restore(
        self, saved_id: str | None, request: gr.Request
    ) -> tuple[list[Any], Any, str | None, str]:
        """On page load: reopen the conversation this browser had open, and list them all."""
        owner = request_owner(request)
        found = self._conversation(saved_id, owner)
        if found is None:
            return [], self.conversation_list(owner), None, ""
        title, messages = found
        shown = visible_tail(messages, OPEN_TURNS)
        return shown, self.conversation_list(owner, "", saved_id), saved_id, title

    def open_conversation(
        self, conversation_id: str | None, request: gr.Request
    ) -> tuple[list[Any], str | None, str]:
        """The chosen conversation's messages, id and title."""
        found = self._conversation(conversation_id, request_owner(request))
        if found is None:
            return [], None, ""
        title, messages = found
        return visible_tail(messages, OPEN_TURNS), conversation_id, title

    def show_all(self, conversation_id: str | None, history: list[Any], request: gr.Request) -> Any:
        """Every turn of the open conversation, the earlier ones too."""
        if not hidden_count(history or []):
            return gr.update()
        found = self._conversation(conversation_id, request_owner(request))
        return with_hidden(history, found[1]) if found else gr.update()

    @staticmethod
    def earlier_button(history: list[Any] | None) -> Any:
        """The "show all" button, shown while earlier turns are left out of the chat."""
        return gr.update(visible=bool(hidden_count(history or [])))

    def new_conversation(self, query: str, request: gr.Request) -> tuple[list[Any], Any, None, str]:
        """An empty chat; the next question starts a new saved conversation."""
        return [], self.conversation_list(request_owner(request), query), None, ""

    def rename_conversation(
        self, conversation_id: str | None, title: str, query: str, request: gr.Request
    ) -> Any:
        """Rename the open conversation."""
        owner = request_owner(request)
        if conversation_id and title.strip():
            self.services.rename_conversation(conversation_id, owner, title)
        return self.conversation_list(owner, query, conversation_id)

    def delete_conversation(
        self, conversation_id: str | None, query: str, request: gr.Request
    ) -> tuple[list[Any], Any, None, str]:
        """Delete the open conversation (the page asks first)."""
        owner = request_owner(request)
        if conversation_id:
            self.services.delete_conversation(conversation_id, owner)
        return [], self.conversation_list(owner, query), None, ""

    def sidebar_after_answer(
        self, query: str, conversation_id: str | None, request: gr.Request
    ) -> tuple[Any, Any]:
        """The list with the open conversation selected, and its title."""
        owner = request_owner(request)
        found = self._conversation(conversation_id, owner)
        title = found[0] if found else ""
        return self.conversation_list(owner, query, conversation_id), title

    def search_conversations(
        self, query: str, conversation_id: str | None, request: gr.Request
    ) -> Any:
        """The conversations whose title or text holds ``query``."""
        return self.conversation_list(request_owner(request), query, conversation_id)

    def export_conversation(self, conversation_id: str | None, request: gr.Request) -> Any:
        """The open conversation as a Markdown file, with its citations and passages."""
        found = self._conversation(conversation_id, request_owner(request))
        if found is None:
            gr.Warning("没有打开的对话可导出。Open or start a conversation first.")
            return gr.update(value=None, visible=False)
        title, messages = found
        folder = Path(tempfile.mkdtemp(prefix="notes-qa-export-"))
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in title)[:40] or "chat"
        path = folder / f"{name}.md"
        path.write_text(conversation_markdown(title, messages), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    # -- passages in context -----------------------------------------------

    def open_passage(self, ref: str) -> tuple[Any, str, Any, str, Any]:
        """Open the viewer on a cited passage.

        Args:
            ref: The passage's link (``#nqa-passage:<chunk id>``) or chunk id.

        Returns:
            The viewer (shown), its header, the PDF page image (hidden for a
            text note), the passage in its context, and the note's download button.
        """
        try:
            ctx = self.services.passage_context(passage_id(ref))
        except Exception as exc:  # the store cannot be read
            logger.exception("opening passage %r failed", ref)
            ctx = PassageContext(error=f"无法打开这段原文 Cannot open the passage: {exc}")
        image = (
            gr.update(value=str(ctx.page_image), visible=True)
            if ctx.page_image
            else gr.update(value=None, visible=False)
        )
        download = (
            gr.update(value=str(ctx.file), visible=True, label=f"⬇️ 下载 Download {ctx.file.name}")
            if ctx.file
            else gr.update(value=None, visible=False)
        )
        return gr.update(visible=True), viewer_header(ctx), image, viewer_body(ctx), download

    # -- scope -------------------------------------------------------------

    def _outline(self) -> dict[str, tuple[str, list[str]]]:
        try:
            return self.services.notes_outline()
        except Exception:
            logger.exception("cannot read the notes' headings")
            return {}

    def scope_view(self, sources: list[str] | None, heading: str | None) -> tuple[Any, ...]:
        """The selector for a scope: notes, headings (of the chosen notes), note line, clear."""
        outline = self._outline()
        sources = list(sources or [])
        notes = [
            (source if title == source else f"{short_title(title)} ({source})", source)
            for source, (title, _) in outline.items()
        ]
        within = [s for s in sources if s in outline] or list(outline)
        headings = list(dict.fromkeys(h for s in within for h in outline[s][1]))
        note = scope_note(sources, heading or "", {s: t for s, (t, _) in outline.items()})
        return (
            gr.update(choices=notes, value=sources),
            gr.update(choices=headings, value=heading or None),
            gr.update(value=note, visible=bool(note)),
            gr.update(visible=bool(note)),
        )

    def scope_changed(
        self,
        sources: list[str] | None,
        heading: str | None,
        conversation_id: str | None,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        """A new choice in the selector: save it with the open conversation, show it.

        A heading that the newly chosen notes lack is dropped.
        """
        outline = self._outline()
        sources = list(sources or [])
        within = [s for s in sources if s in outline] or list(outline)
        if heading and not any(heading in outline[s][1] for s in within):
            heading = None
        owner = request_owner(request)
        if self._conversation(conversation_id, owner) is not None and conversation_id:
            scope = Scope(tuple(sources), heading or "").as_dict()
            self.services.save_conversation_scope(conversation_id, owner, scope)
        return self.scope_view(sources, heading)

    def clear_scope(self, conversation_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Search every note again (in the open conversation too)."""
        return self.scope_changed([], None, conversation_id, request)

    def scope_for(self, conversation_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The selector for the open conversation's saved scope (none open: every note)."""
        self.services.start_initial_ingest()
        self.services.wait_initial_ingest()
        saved = (
            self.services.conversation_scope(conversation_id, request_owner(request))
            if conversation_id
            else None
        )
        try:
            scope = Scope.from_dict(saved)
        except ScopeError:
            scope = Scope()
        return self.scope_view(list(scope.sources), scope.heading)

    # -- feedback ----------------------------------------------------------

    def rate(
        self,
        messages: list[Any],
        index: int,
        rating: str,
        owner: str,
        *,
        scope: dict[str, Any] | None = None,
        conversation_id: str = "",
        reason: str = "",
        expected: str = "",
    ) -> int:
        """Store a rating of the answer at ``index`` with its question and passages.

        Raises:
            ValueError: ``index`` is not an answer, or ``rating`` is not up/down.
        """
        if rating not in ("up", "down"):
            raise ValueError(
                f"评价只能是 up 或 down。 A rating is 'up' or 'down' (got {rating!r})."
            )
        turn = rated_turn(messages, index)
        if turn is None:
            raise ValueError("这条消息不是回答，无法评价。 That message is not an answer.")
        question, answer, block = turn
        feedback_id = self.services.rate(
            owner,
            "up" if rating == "up" else "down",
            question,
            answer,
            sources_passages(block),
            scope=scope,
            conversation_id=conversation_id,
        )
        if reason.strip() or expected.strip():
            self.services.explain_rating(feedback_id, owner, reason, expected)
        return feedback_id

    def like(
        self,
        messages: list[Any] | None,
        sources: list[str] | None,
        heading: str | None,
        conversation_id: str | None,
        evt: gr.LikeData,
        request: gr.Request,
    ) -> tuple[int | None, Any, str, str]:
        """👍/👎 on an answer: stored at once; a 👎 opens the form for a reason.

        Returns:
            The rating's id, the form (shown for a 👎), and empty form fields.
        """
        hidden = gr.update(visible=False)
        if evt.liked not in (True, False):  # the rating was taken back
            return None, hidden, "", ""
        index = evt.index if isinstance(evt.index, int) else int(evt.index[0])
        rating = "up" if evt.liked else "down"
        try:
            feedback_id = self.rate(
                list(messages or []),
                index,
                rating,
                request_owner(request),
                scope=Scope(tuple(sources or []), heading or "").as_dict(),
                conversation_id=conversation_id or "",
            )
        except ValueError as exc:
            gr.Warning(str(exc))
            return None, hidden, "", ""
        if rating == "up":
            gr.Info("👍 已记录，谢谢！ Saved, thank you.")
            return feedback_id, hidden, "", ""
        return feedback_id, gr.update(visible=True), "", ""

    def explain(
        self, feedback_id: int | None, reason: str, expected: str, request: gr.Request
    ) -> tuple[Any, str, str]:
        """The 👎 form sent: add its reason and expected answer to the rating."""
        if feedback_id is not None and (reason.strip() or expected.strip()):
            self.services.explain_rating(feedback_id, request_owner(request), reason, expected)
            gr.Info("👎 已记录原因，谢谢！ Saved with your reason, thank you.")
        return gr.update(visible=False), "", ""

    def rate_api(
        self,
        messages: list[Any],
        index: int,
        rating: str,
        reason: str = "",
        expected: str = "",
        sources: list[str] | None = None,
        heading: str = "",
        request: gr.Request | None = None,
    ) -> int:
        """``/rate``: rate the answer at ``index`` of a chat (``up`` or ``down``); its id."""
        return self.rate(
            messages,
            index,
            rating,
            request_owner(request),
            scope=Scope(tuple(sources or []), heading).as_dict(),
            reason=reason,
            expected=expected,
        )

    # -- knowledge base ----------------------------------------------------

    def upload(
        self,
        files: list[Any] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects a tracker
    ) -> tuple[str, list[list[Any]], Any, str, None]:
        """Save and ingest uploaded files.

        Args:
            files: Gradio temp file paths (their base names are the original names).
            progress: Gradio's progress tracker.

        Returns:
            Result table, files table, dropdown update, status line, and None to
            empty the upload box.
        """
        self.services.start_initial_ingest()  # the data dir first, if the store is empty
        paths = [Path(str(f)) for f in files or []]
        if not paths:
            return (outcomes_markdown([]), *self.kb_outputs(), None)
        progress(0.0, desc="保存文件 Saving files…")

        def on_progress(snapshot: IngestProgress) -> None:
            progress(snapshot.fraction, desc=progress_text(snapshot))

        outcomes = self.services.upload([(p, p.name) for p in paths], on_progress)
        forget_uploads(paths, Path(gradio_upload_folder()))  # saved in the data dir, or refused
        added = next((o.source for o in outcomes if o.status != "failed"), None)
        return (outcomes_markdown(outcomes), *self.kb_outputs(added), None)

    def list_files(self, selected: str | None = None) -> tuple[list[list[Any]], Any, str]:
        """The files table, dropdown and status line (refresh)."""
        self.services.start_initial_ingest()
        return self.kb_outputs(selected)

    def _known(self, source: str | None) -> str | None:
        """An error message when ``source`` is not an indexed file, else None."""
        self.services.start_initial_ingest()
        self.services.wait_initial_ingest()
        if not source:
            return "请先在表格或下拉框中选择一个文件。Select a file first (nothing changed)."
        listed = [r.source for r in self.services.files()]
        if source not in listed + [a.source for a in self.services.set_aside()]:
            return f"❌ 知识库中没有这个文件 Not in the knowledge base: `{source}`"
        return None

    def delete_file(self, source: str | None) -> tuple[str, list[list[Any]], Any, str]:
        """Remove the selected file from the store and the data dir."""
        error = self._known(source)
        if error or not source:
            return (error or "", *self.kb_outputs(source))
        try:
            digest = self.services.file_digest(source)
            result = self.services.remove(source)
        except Exception as exc:
            logger.exception("deleting %s failed", source)
            return (f"❌ 删除失败 Delete failed `{source}`: {exc}", *self.kb_outputs(source))
        if digest is not None:  # no copy of it may stay downloadable
            purge_copies(*digest, Path(gradio_upload_folder()))
        message = file_result_markdown("删除", source, result.status, result.deleted, result.error)
        return (message, *self.kb_outputs())

    def reindex_file(
        self,
        source: str | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects a tracker
    ) -> tuple[str, list[list[Any]], Any, str]:
        """Index the selected file again from scratch."""
        error = self._known(source)
        if error or not source:
            return (error or "", *self.kb_outputs(source))
        progress(0.0, desc=f"重新索引 Re-indexing {source}…")
        try:
            result = self.services.reindex(source)
        except Exception as exc:
            logger.exception("re-indexing %s failed", source)
            return (f"❌ 重新索引失败 Re-index failed `{source}`: {exc}", *self.kb_outputs(source))
        message = file_result_markdown(
            "重新索引", source, result.status, result.chunks, result.error
        )
        return (message, *self.kb_outputs(source))

    def status(self) -> Iterator[tuple[str, list[list[Any]], Any]]:
        """On page load: index the notes the store lacks, showing the progress."""
        self.services.start_initial_ingest()
        while self.services.initial.running:
            yield self.status_markdown(), *self.kb_outputs()[:2]
            self.services.initial.done.wait(POLL_SECONDS)
        rows, dropdown, status = self.kb_outputs()
        yield status, rows, dropdown

    def examples(self) -> Any:
        """On page load, once the notes are indexed: the chat's example questions."""
        self.services.start_initial_ingest()
        self.services.wait_initial_ingest()
        try:
            questions = self.services.example_questions()
        except Exception:
            logger.exception("cannot read the headings for example questions")
            questions = []
        return gr.update(examples=[{"text": q} for q in questions] or None)

    @staticmethod
    def pick_example(evt: gr.SelectData) -> str:
        """The clicked example's question, for the question box."""
        value = evt.value if isinstance(evt.value, dict) else {}
        return str(value.get("text", ""))

    @staticmethod
    def select_row(evt: gr.SelectData) -> Any:
        """Put the clicked table row's file into the dropdown."""
        row = evt.row_value or []
        return gr.update(value=row[0]) if row else gr.update()


_DELETE_CONFIRM_JS = """
(source) => {
  if (!source) return source;
  const ok = window.confirm(`删除 ${source}？\\n它会从知识库和数据目录中移除。\\n` +
    `Delete ${source} from the knowledge base and the data folder?`);
  return ok ? source : "";
}
"""


def request_owner(request: gr.Request | None) -> str:
    """Whose conversations these are: the login name, or "" without ``APP_AUTH``."""
    return str(getattr(request, "username", None) or "") if request is not None else ""


#: The conversation sidebar starts closed where it would cover the chat.
_CLOSE_SIDEBAR_ON_NARROW_JS = """
() => {
  const sidebar = document.querySelector("#nqa-sidebar");
  if (window.innerWidth < 1100 && sidebar && sidebar.classList.contains("open")) {
    sidebar.querySelector(".toggle-button")?.click();
  }
}
"""

_DELETE_CHAT_JS = """
(id, query) => {
  if (!id) return [id, query];
  const ok = window.confirm("删除这个对话？Delete this conversation?");
  return ok ? [id, query] : ["", query];
}
"""


def build_app(settings: Settings, services: NotesQA | None = None) -> NotesQABlocks:
    """Build the web app.

    Nothing is ingested here: the first ingest of an empty store starts on the
    first page load or request (or when the caller runs
    :meth:`NotesQA.start_initial_ingest`).

    Args:
        settings: App settings.
        services: Services to use (default: created from ``settings``).

    Returns:
        The Blocks app; launch it with ``.launch(...)``.
    """
    apply_offline_env()
    services = services or NotesQA.from_settings(settings)
    h = WebHandlers(services)
    suffixes = sorted(SUPPORTED_SUFFIXES)

    with NotesQABlocks(title=TITLE, analytics_enabled=False) as demo:
        demo.services = services
        conversation = gr.State(None)
        saved_conversation = gr.BrowserState(None, storage_key="notes-qa-conversation")
        with gr.Sidebar(label="对话 Conversations", open=True, elem_id="nqa-sidebar"):
            new_chat = gr.Button("➕ 新对话 New chat", variant="primary", size="sm")
            chat_search = gr.Textbox(
                placeholder="🔎 搜索对话 Search chats", show_label=False, elem_id="nqa-chat-search"
            )
            chat_list = gr.Radio(
                choices=[], label="已保存的对话 Saved", elem_id="nqa-conversations"
            )
            chat_title = gr.Textbox(label="标题 Title", max_lines=1, elem_id="nqa-chat-title")
            with gr.Row():
                rename_chat = gr.Button("✏️ 重命名 Rename", size="sm")
                delete_chat = gr.Button("🗑️ 删除对话 Delete chat", size="sm", variant="stop")
            export_chat = gr.Button("⬇️ 导出 Markdown Export", size="sm")
            export_file = gr.File(label="导出的文件 Exported", visible=False, elem_id="nqa-export")
        with gr.Row(elem_id="nqa-header", equal_height=True):
            with gr.Column(scale=3, min_width=300):
                gr.Markdown(
                    f"# {TITLE}\n基于你的 LLM 学习笔记回答问题，每个回答都标明出处。"
                    " Answers from your own notes, with citations."
                )
            with gr.Column(scale=2, min_width=260):
                status = gr.Markdown(
                    "⏳ 正在打开知识库… Opening the knowledge base…", elem_id="nqa-status"
                )

        with gr.Row(equal_height=False, elem_id="nqa-main"):
            with gr.Column(scale=11, min_width=320):
                show_all = gr.Button(
                    "⬆️ 显示更早的对话 Show earlier turns",
                    size="sm",
                    visible=False,
                    elem_id="nqa-show-all",
                )
                chatbot = gr.Chatbot(
                    label="对话 Chat",
                    show_label=False,  # a floating label covered the first line of text
                    elem_id="nqa-chat",
                    height="64vh",
                    min_height=420,
                    buttons=["copy"],
                    feedback_options=("Like", "Dislike"),
                    latex_delimiters=LATEX_DELIMITERS,
                    placeholder=(
                        "**问我关于笔记的任何问题** · Ask anything about your notes\n\n"
                        "下面的例子来自你的笔记标题 · The examples come from your notes' headings"
                    ),
                )
                # Under the chat, next to the answer that was rated.
                feedback_id = gr.State(None)
                with gr.Group(visible=False, elem_id="nqa-feedback") as feedback_form:
                    gr.Markdown(
                        "**👎 哪里不对？ What was wrong?** 已记录评价；下面两项都可以不填。"
                        " Your rating is saved; both fields are optional."
                    )
                    feedback_reason = gr.Textbox(
                        label="原因 Reason",
                        placeholder="例如：引用了不相关的笔记 e.g. it cited an unrelated note",
                        max_lines=3,
                        elem_id="nqa-feedback-reason",
                    )
                    feedback_expected = gr.Textbox(
                        label="正确答案 Expected answer",
                        lines=2,
                        max_lines=6,
                        elem_id="nqa-feedback-expected",
                    )
                    with gr.Row():
                        feedback_send = gr.Button(
                            "提交 Send", variant="primary", size="sm", elem_id="nqa-feedback-send"
                        )
                        feedback_skip = gr.Button("跳过 Skip", size="sm")
                with gr.Row(equal_height=True, elem_id="nqa-scope-bar"):
                    scope_line = gr.Markdown("", visible=False, elem_id="nqa-scope-note")
                    scope_clear = gr.Button(
                        "✖ 清除范围 Clear scope",
                        size="sm",
                        visible=False,
                        scale=0,
                        min_width=130,
                        elem_id="nqa-scope-clear",
                    )
                with gr.Row(equal_height=True, elem_id="nqa-ask-row"):
                    question = gr.Textbox(
                        placeholder="输入问题，按 Enter 发送 · Ask about your notes",
                        show_label=False,
                        lines=1,
                        max_lines=6,
                        scale=6,
                        elem_id="nqa-question",
                        autofocus=True,
                    )
                    send = gr.Button("发送 Send", variant="primary", scale=1, min_width=90)
                    stop = gr.Button("停止 Stop", variant="secondary", scale=1, min_width=90)
                with (
                    gr.Accordion(
                        "🎯 查找范围 Scope：只问某些笔记或标题 Ask only some notes",
                        open=False,
                        elem_id="nqa-scope",
                    ),
                    gr.Row(elem_id="nqa-scope-row"),
                ):
                    scope_sources = gr.Dropdown(
                        label="只在这些笔记中查找 Only these notes",
                        choices=[],
                        value=[],
                        multiselect=True,
                        allow_custom_value=True,  # checked by the facade, with a clear error
                        scale=3,
                        min_width=220,
                        elem_id="nqa-scope-sources",
                    )
                    scope_heading = gr.Dropdown(
                        label="标题及其下全部内容 A heading and all under it",
                        choices=[],
                        value=None,
                        allow_custom_value=True,
                        scale=2,
                        min_width=220,
                        elem_id="nqa-scope-heading",
                    )

            with gr.Column(scale=9, min_width=300):
                with gr.Group():
                    files_in = gr.File(
                        label="上传笔记 Upload notes (.txt / .md / .pdf)",
                        file_count="multiple",
                        file_types=suffixes,
                        height=170,
                        elem_id="nqa-upload",
                    )
                    upload_btn = gr.Button("⬆️ 上传并索引 Upload & index", variant="primary")
                upload_result = gr.Markdown(elem_id="nqa-upload-result")

                gr.Markdown("### 📂 知识库 Knowledge base")
                files_table = gr.Dataframe(
                    headers=FILE_HEADERS,
                    value=[],
                    datatype=["str", "number", "str", "str"],
                    type="array",
                    interactive=False,
                    wrap=True,
                    max_height=320,
                    column_widths=["37%", "19%", "16%", "28%"],
                    elem_id="nqa-files",
                    show_label=False,
                )
                selected = gr.Dropdown(
                    label="选中的文件 Selected file（点击表格行选择 click a row）",
                    choices=[],
                    value=None,
                    allow_custom_value=True,
                    interactive=True,
                    elem_id="nqa-selected",
                )
                with gr.Row():
                    reindex_btn = gr.Button("🔁 重新索引 Re-index", size="sm")
                    delete_btn = gr.Button("🗑️ 删除 Delete", variant="stop", size="sm")
                    refresh_btn = gr.Button("🔄 刷新 Refresh", size="sm")
                action_result = gr.Markdown(elem_id="nqa-action-result")

        with gr.Column(visible=False, elem_id="nqa-viewer") as viewer:
            with gr.Row(elem_id="nqa-viewer-top"):
                viewer_head = gr.HTML(elem_id="nqa-viewer-head")
                viewer_close = gr.Button(
                    "✕ 关闭 Close", size="sm", elem_id="nqa-viewer-close", scale=0
                )
            viewer_page = gr.Image(
                type="filepath",
                interactive=False,
                show_label=False,
                visible=False,
                buttons=["fullscreen"],
                elem_id="nqa-viewer-page",
            )
            viewer_text = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="nqa-viewer-body")
            viewer_file = gr.DownloadButton(
                "⬇️ 下载 Download", visible=False, size="sm", elem_id="nqa-viewer-download"
            )
        # What the page script fills in when a citation is clicked.
        viewer_ref = gr.Textbox(visible="hidden", elem_id="nqa-viewer-ref")
        viewer_go = gr.Button(visible="hidden", elem_id="nqa-viewer-go")

        kb_outs = [files_table, selected, status]
        ingest_opts: dict[str, Any] = {"concurrency_id": "ingest", "concurrency_limit": 1}

        ask_inputs = [question, chatbot, conversation, scope_sources, scope_heading]
        scope_outs = [scope_sources, scope_heading, scope_line, scope_clear]
        ask_event = gr.on(
            triggers=[question.submit, send.click],
            fn=h.ask_saved,
            inputs=ask_inputs,
            outputs=[chatbot, question, conversation],
            api_name="ask",
            show_progress="minimal",
            show_progress_on=chatbot,
            # Enter during an answer is not lost: the last question sent meanwhile
            # waits in the box and goes when the answer is done.
            trigger_mode="always_last",
        )
        private: dict[str, Any] = {"api_visibility": "private"}
        ask_event.then(
            h.sidebar_after_answer, [chat_search, conversation], [chat_list, chat_title], **private
        )
        stop.click(None, cancels=[ask_event], **private)
        conversation.change(lambda c: c, conversation, saved_conversation, **private)
        scoped: dict[str, Any] = {**private, "concurrency_limit": None}
        demo.load(
            h.restore,
            saved_conversation,
            [chatbot, chat_list, conversation, chat_title],
            **private,
        ).then(h.scope_for, conversation, scope_outs, **scoped).then(
            h.earlier_button, chatbot, show_all, **private
        )
        chat_list.input(
            h.open_conversation,
            chat_list,
            [chatbot, conversation, chat_title],
            queue=False,
            **private,
        ).then(h.scope_for, conversation, scope_outs, **scoped).then(
            h.earlier_button, chatbot, show_all, **private
        )
        new_chat_outputs = [chatbot, chat_list, conversation, chat_title]
        new_chat.click(h.new_conversation, chat_search, new_chat_outputs, **private).then(
            h.scope_for, conversation, scope_outs, **scoped
        ).then(h.earlier_button, chatbot, show_all, **private)
        # The chat's own clear button starts a new conversation; the old one stays saved.
        chatbot.clear(h.new_conversation, chat_search, new_chat_outputs, **private).then(
            h.scope_for, conversation, scope_outs, **scoped
        ).then(h.earlier_button, chatbot, show_all, **private)
        show_all.click(h.show_all, [conversation, chatbot], chatbot, **private).then(
            h.earlier_button, chatbot, show_all, **private
        )
        scope_in = [scope_sources, scope_heading, conversation]
        scope_sources.input(h.scope_changed, scope_in, scope_outs, **private)
        scope_heading.input(h.scope_changed, scope_in, scope_outs, **private)
        scope_clear.click(h.clear_scope, conversation, scope_outs, **private)
        feedback_fields = [feedback_form, feedback_reason, feedback_expected]
        chatbot.like(
            h.like,
            [chatbot, scope_sources, scope_heading, conversation],
            [feedback_id, *feedback_fields],
            **private,
        )
        feedback_send.click(
            h.explain, [feedback_id, feedback_reason, feedback_expected], feedback_fields, **private
        )
        feedback_skip.click(
            lambda: (gr.update(visible=False), "", ""), None, feedback_fields, **private
        )
        gr.api(h.rate_api, api_name="rate")  # type: ignore[attr-defined]
        rename_chat.click(
            h.rename_conversation, [conversation, chat_title, chat_search], chat_list, **private
        )
        delete_chat.click(
            h.delete_conversation,
            [conversation, chat_search],
            new_chat_outputs,
            js=_DELETE_CHAT_JS,
            **private,
        ).then(h.scope_for, conversation, scope_outs, **scoped).then(
            h.earlier_button, chatbot, show_all, **private
        )
        chat_search.change(
            h.search_conversations, [chat_search, conversation], chat_list, **private
        )
        export_chat.click(h.export_conversation, conversation, export_file, **private)
        upload_btn.click(
            h.upload,
            inputs=files_in,
            outputs=[upload_result, *kb_outs, files_in],
            api_name="upload",
            show_progress_on=files_in,
            **ingest_opts,
        ).then(h.scope_view, [scope_sources, scope_heading], scope_outs, **private)
        refresh_btn.click(h.list_files, selected, kb_outs, api_name="list_files")
        delete_btn.click(
            h.delete_file,
            selected,
            [action_result, *kb_outs],
            api_name="delete_file",
            js=_DELETE_CONFIRM_JS,
            **ingest_opts,
        )
        reindex_btn.click(
            h.reindex_file,
            selected,
            [action_result, *kb_outs],
            api_name="reindex_file",
            show_progress_on=files_table,
            **ingest_opts,
        )
        files_table.select(h.select_row, None, selected, api_visibility="private")
        viewer_go.click(
            h.open_passage,
            viewer_ref,
            [viewer, viewer_head, viewer_page, viewer_text, viewer_file],
            api_name="passage",
            show_progress="minimal",
            concurrency_limit=None,
        ).then(None, js=SCROLL_TO_PASSAGE_JS, **private)
        viewer_close.click(lambda: gr.update(visible=False), None, viewer, queue=False, **private)
        chatbot.example_select(
            h.pick_example, None, question, api_visibility="private", queue=False
        ).then(
            h.ask_saved,
            ask_inputs,
            [chatbot, question, conversation],
            api_visibility="private",
            show_progress="minimal",
            show_progress_on=chatbot,
        ).then(
            h.sidebar_after_answer, [chat_search, conversation], [chat_list, chat_title], **private
        )
        demo.load(h.examples, None, chatbot, api_visibility="private", concurrency_limit=None)
        demo.load(None, js=_CLOSE_SIDEBAR_ON_NARROW_JS, **private)
        demo.load(
            h.status,
            None,
            [status, files_table, selected],
            api_name="status",
            show_progress="hidden",
            concurrency_limit=None,
        )
    demo.queue(max_size=64)
    return cast(NotesQABlocks, demo)
