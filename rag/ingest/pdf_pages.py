"""PDF pages as images, with a passage highlighted where it is printed.

:class:`PageRenderer` renders one page with pypdfium2, finds the passage in the
page's text layer (:func:`rag.ingest.passages.locate` over pdfium's text, whose
character indices are those of its character boxes) and paints a translucent
box over each line of it. Rendered pages are PNG files in a folder of their
own, kept for the last :data:`CACHE_PAGES` passages opened: opening the same
citation again costs nothing, and a page of a long PDF costs one page's
rendering (pdfium loads pages lazily).

PDFium is not thread-safe: every use of it in the package holds
:data:`PDFIUM_LOCK`.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.passages import locate

logger = logging.getLogger(__name__)

#: Held around every pdfium call (ingest and the viewer share the library).
PDFIUM_LOCK = threading.RLock()
#: Rendered passages kept on disk.
CACHE_PAGES = 64
#: Pixels per PDF point (72 per inch): 2 gives a sharp A4 page 1190 px wide.
SCALE = 2.0
#: The highlight's colour and opacity (0-255).
HIGHLIGHT_RGBA = (255, 214, 0, 96)
#: Points added around each highlighted line.
PAD = 1.5


class PageError(Exception):
    """The page cannot be rendered; the message says why."""


@dataclass(frozen=True)
class RenderedPage:
    """One rendered page."""

    #: A PNG file of the page.
    image: Path
    #: 1-based page number.
    page: int
    pages: int
    #: The passage was found on the page and is highlighted on the image.
    highlighted: bool
    #: The page's text as pdfium reads it (for a passage that was not found).
    text: str
    #: Where the highlight starts, as a share of the page's height from its top.
    top: float | None = None


class PageRenderer:
    """Render PDF pages with a passage highlighted, caching the last few."""

    def __init__(self, folder: Path | None = None, scale: float = SCALE) -> None:
        """Keep rendered pages in ``folder`` (default: a new temporary folder)."""
        self.folder = folder or Path(tempfile.mkdtemp(prefix="notes-qa-pages-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.scale = scale
        self._cache: OrderedDict[str, RenderedPage] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, path: Path, page: int, passage: str) -> RenderedPage:
        """Page ``page`` (1-based) of ``path`` with ``passage`` highlighted on it.

        Raises:
            PageError: No such page, or the file is not a readable PDF.
        """
        stat = path.stat()
        key = hashlib.sha1(
            f"{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{page}|{self.scale}|{passage}".encode()
        ).hexdigest()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.image.exists():
                self._cache.move_to_end(key)
                return cached
        rendered = self._render(path, page, passage, self.folder / f"{key}.png")
        with self._lock:
            self._cache[key] = rendered
            while len(self._cache) > CACHE_PAGES:
                _, old = self._cache.popitem(last=False)
                old.image.unlink(missing_ok=True)
        return rendered

    def _render(self, path: Path, number: int, passage: str, out: Path) -> RenderedPage:
        import pypdfium2 as pdfium
        from PIL import Image, ImageDraw

        with PDFIUM_LOCK:
            try:
                pdf = pdfium.PdfDocument(str(path))
            except pdfium.PdfiumError as exc:
                raise PageError(f"{path.name}: not a readable PDF ({exc})") from exc
            try:
                pages = len(pdf)
                if not 1 <= number <= pages:
                    raise PageError(f"{path.name}: no page {number} (it has {pages})")
                page = pdf[number - 1]
                textpage = page.get_textpage()
                text = textpage.get_text_range()
                span = locate(text, passage)
                boxes = []
                if span is not None:
                    for i in range(textpage.count_rects(span.start, span.end - span.start)):
                        boxes.append(textpage.get_rect(i))
                height = page.get_height()
                image = page.render(scale=self.scale).to_pil().convert("RGB")
                textpage.close()
                page.close()
            finally:
                pdf.close()
        if boxes:
            overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
            draw = ImageDraw.Draw(overlay)
            s = self.scale
            for left, bottom, right, top in boxes:
                draw.rectangle(
                    (
                        (left - PAD) * s,
                        (height - top - PAD) * s,
                        (right + PAD) * s,
                        (height - bottom + PAD) * s,
                    ),
                    fill=HIGHLIGHT_RGBA,
                )
            image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
        else:
            logger.info("%s p.%d: passage not found in the text layer", path.name, number)
        # Fast compression: a page is opened once or twice, not archived.
        image.save(out, "PNG", compress_level=1)
        top = (height - max(box[3] for box in boxes)) / height if boxes else None
        return RenderedPage(out, number, pages, bool(boxes), text.replace("\r\n", "\n"), top)
