"""A cited passage in its context, for the page's viewer.

:class:`PassageViewer` takes a chunk id (what a citation links to) and returns
a :class:`PassageContext`: for a text note, the section that holds the passage
with the passage located in it; for a PDF, the page rendered with the passage
highlighted (:mod:`rag.ingest.pdf_pages`). It also hands out a copy of the
note's file for download; only files the knowledge base indexed are handed out.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rag.ingest.loaders import PDF_SUFFIXES, LoaderError, decode_text
from rag.ingest.passages import Excerpt, excerpt, line_span, locate, section_at
from rag.ingest.pdf_pages import PageError, PageRenderer
from rag.ingest.structure import looks_like_markdown, text_sections

if TYPE_CHECKING:
    from rag.store.knowledge_base import KnowledgeBase

logger = logging.getLogger(__name__)

#: Characters of a long section shown on each side of the passage.
SECTION_WINDOW = 1500

GONE = (
    "这段内容已不在知识库中（笔记被删除或重新索引了），请重新提问。"
    " This passage is no longer in the knowledge base (the note was deleted or"
    " re-indexed); ask again."
)


@dataclass(frozen=True)
class PassageContext:
    """A passage where it stands in its note."""

    #: The note (``source``) and the chunk's metadata (title, heading, page).
    source: str = ""
    metadata: dict[str, Any] | None = None
    kind: Literal["text", "pdf", "none"] = "none"
    #: The passage as stored.
    passage: str = ""
    #: Text notes: the section's heading; the section around the passage.
    heading: str = ""
    context: Excerpt | None = None
    #: PDFs: the rendered page, and whether the passage is highlighted on it.
    page_image: Path | None = None
    pages: int = 0
    #: Where the highlight starts on the page (share of its height from the top).
    highlight_top: float | None = None
    #: The passage was found in the note as it is now.
    located: bool = False
    #: A copy of the note's file to download.
    file: Path | None = None
    #: Why there is nothing to show (Chinese and English); "" when all is well.
    error: str = ""


class PassageViewer:
    """Passages in context and note files, over one knowledge base."""

    def __init__(self, kb: KnowledgeBase, folder: Path | None = None) -> None:
        """Serve passages of ``kb``; rendered pages and file copies go below ``folder``."""
        self.kb = kb
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="notes-qa-viewer-"))
            # Rendered pages and file copies are a cache: gone with the services.
            weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        self.folder = folder
        self.pages = PageRenderer(self.folder / "pages")
        self._copies: dict[str, Path] = {}
        self._lock = threading.Lock()

    def note_path(self, source: str) -> Path | None:
        """The file of an indexed note, or None when ``source`` is not one."""
        if source not in {r.source for r in self.kb.record_manager.files()}:
            return None
        data_dir = self.kb.settings.data_dir.resolve()
        path = Path(source) if Path(source).is_absolute() else data_dir / source
        path = path.resolve()
        if not Path(source).is_absolute() and not path.is_relative_to(data_dir):
            return None  # a symlink out of the data folder
        return path if path.is_file() else None

    def download(self, source: str) -> Path | None:
        """A copy of an indexed note's file (the same copy while the file is unchanged)."""
        path = self.note_path(source)
        if path is None:
            return None
        stat = path.stat()
        key = hashlib.sha1(f"{path}|{stat.st_mtime_ns}|{stat.st_size}".encode()).hexdigest()
        with self._lock:
            copy = self._copies.get(key)
            if copy is None or not copy.exists():
                copy = self.folder / "files" / key[:16] / path.name
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
                self._copies[key] = copy
        return copy

    def context(self, chunk_id: str) -> PassageContext:
        """The passage of chunk ``chunk_id`` in its note (see the module docstring)."""
        doc = self.kb.fetch_documents([chunk_id]).get(chunk_id) if chunk_id else None
        if doc is None:
            return PassageContext(error=GONE)
        meta = dict(doc.metadata)
        source = str(meta.get("source") or "")
        path = self.note_path(source)
        base = PassageContext(source=source, metadata=meta, passage=doc.page_content)
        if path is None:
            return _with(base, error=GONE)
        file = self.download(source)
        try:
            if path.suffix.lower() in PDF_SUFFIXES:
                return self._pdf(base, path, file)
            return self._text(base, path, file)
        except (OSError, LoaderError, PageError) as exc:
            logger.warning("cannot show %s in context: %s", source, exc)
            return _with(
                base,
                file=file,
                context=Excerpt("", doc.page_content, ""),
                error=f"无法打开笔记 Cannot open the note: {exc}",
            )

    def _pdf(self, base: PassageContext, path: Path, file: Path | None) -> PassageContext:
        meta = base.metadata or {}
        page = int(meta.get("page") or 1)
        rendered = self.pages.render(path, page, base.passage)
        return _with(
            base,
            kind="pdf",
            page_image=rendered.image,
            pages=rendered.pages,
            located=rendered.highlighted,
            highlight_top=rendered.top,
            context=Excerpt("", base.passage, ""),
            file=file,
        )

    def _text(self, base: PassageContext, path: Path, file: Path | None) -> PassageContext:
        meta = base.metadata or {}
        text = decode_text(path.read_bytes(), base.source)
        markdown = path.suffix.lower() in (".md", ".markdown") or looks_like_markdown(text)
        sections = text_sections(text, markdown) or [("", 0, text)]
        start = int(meta.get("start_index") or 0)
        found = section_at(sections, start)
        heading, offset, body = sections[found] if found is not None else ("", 0, text)
        if meta.get("table"):  # rows rewritten under the caption and header row
            span = line_span(body, start - offset, len(base.passage.splitlines()) - 1)
        else:
            span = locate(body, base.passage, start - offset)
        if span is None and found is not None:  # edited since: look in the whole note
            heading, offset, body = str(meta.get("heading") or ""), 0, text
            span = locate(body, base.passage, start)
        return _with(
            base,
            kind="text",
            heading=heading,
            context=excerpt(body, span, SECTION_WINDOW),
            located=span is not None,
            file=file,
        )


def _with(base: PassageContext, **changes: Any) -> PassageContext:
    return replace(base, **changes)
