"""``python -m benchmarks.viewer [--pdf FILE] [--page N] [--runs R]``: open a page of a long PDF.

What a click on a citation of a textbook costs: page ``N`` (default 300) of a
PDF of about 400 pages rendered with its passage highlighted
(:class:`rag.ingest.pdf_pages.PageRenderer`), cold (a new renderer, nothing
cached; median of ``R`` runs) and again (cached). The long PDF is ``--pdf``
when it has 400 pages; otherwise copies of it (default:
``textbook/lshort-zh-cn.pdf``, else a test fixture) joined into one, in a
temporary folder. The passage is 300 characters from the middle of the page's
text as ingest stores it (a page without text: the next page with text).
Prints the figures; writes nothing else.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

from rag.config import PROJECT_ROOT
from rag.ingest.loaders import LoaderError, load_pdf
from rag.ingest.pdf_pages import PDFIUM_LOCK, PageRenderer

TEXTBOOK = PROJECT_ROOT / "textbook" / "lshort-zh-cn.pdf"
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "multipage.pdf"
TARGET_PAGES = 400


def long_pdf(source: Path, pages: int, folder: Path) -> Path:
    """``source`` when it has ``pages`` pages, else copies of it joined up to that many."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        src = pdfium.PdfDocument(str(source))
        try:
            if len(src) >= pages:
                return source
            out = pdfium.PdfDocument.new()
            for _ in range(math.ceil(pages / len(src))):
                out.import_pages(src)
            path = folder / f"{source.stem}-x{math.ceil(pages / len(src))}.pdf"
            out.save(str(path))
            out.close()
            return path
        finally:
            src.close()


def stored_passage(pdf: Path, page: int, folder: Path) -> tuple[int, str]:
    """The first page from ``page`` on with text, and 300 characters from its middle.

    The text is what ingest stores for the page (:func:`rag.ingest.loaders.load_pdf`
    over that page alone: pypdf's text, or pdfium's where pypdf's is garbled).
    """
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        src = pdfium.PdfDocument(str(pdf))
        total = len(src)
    for number in range(page, total + 1):
        one = folder / f"page-{number}.pdf"
        with PDFIUM_LOCK:
            out = pdfium.PdfDocument.new()
            out.import_pages(src, [number - 1])
            out.save(str(one))
            out.close()
        try:
            text = load_pdf(one, one.name)[0].page_content
        except LoaderError:  # no text on this page
            continue
        if len(text.strip()) > 100:
            src.close()
            middle = max(0, len(text) // 2 - 150)
            return number, text[middle : middle + 300]
    src.close()
    return page, ""


def main(argv: list[str] | None = None) -> int:
    """Print the time to open page N of a ~400-page PDF, cold and cached."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=TEXTBOOK if TEXTBOOK.exists() else FIXTURE)
    parser.add_argument("--page", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="notes-qa-bench-viewer-") as tmp:
        folder = Path(tmp)
        pdf = long_pdf(args.pdf, max(TARGET_PAGES, args.page), folder)
        number, passage = stored_passage(pdf, args.page, folder)
        if number != args.page:
            print(f"page {args.page} has no text: page {number} is measured instead")
        cold = []
        for run in range(args.runs):
            renderer = PageRenderer(folder / f"cold-{run}")
            started = time.perf_counter()
            page = renderer.render(pdf, number, passage)
            cold.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        renderer.render(pdf, number, passage)
        cached = (time.perf_counter() - started) * 1000
        print(f"PDF: {pdf.name}, {page.pages} pages ({pdf.stat().st_size / 1e6:.1f} MB)")
        print(f"page {number}: passage highlighted on the page: {page.highlighted}")
        print(
            f"open page {number} cold (render + locate + highlight + PNG): "
            f"median {statistics.median(cold):.0f} ms, max {max(cold):.0f} ms "
            f"over {args.runs} runs"
        )
        print(f"open page {number} again (cached): {cached:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
