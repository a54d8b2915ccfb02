"""Load note files (.txt, .md, .pdf) into LangChain documents.

Each loader returns one :class:`~langchain_core.documents.Document` per unit
of the file: the whole text of a ``.txt`` file, one section per Markdown
heading, one page per PDF page. Units carry ``source`` (the path as
indexed), ``page`` (PDF, 1-based) or ``heading`` (Markdown heading path).
Anything that cannot be read raises :class:`LoaderError` with a message fit
for the user.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from langchain_core.documents import Document

from rag.ingest.pdf_pages import PDFIUM_LOCK
from rag.ingest.structure import document_title, looks_like_markdown, text_sections

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | PDF_SUFFIXES

#: Share of "readable" characters below which PDF text counts as garbled.
GARBLE_THRESHOLD = 0.7

#: A PDF line break between two Chinese characters is a hard wrap, not a paragraph end.
_HARD_WRAP_RE = re.compile(
    r"([\u4e00-\u9fff，、；：“”（）])[ \t]*\n[ \t]*(?=[\u4e00-\u9fff，、；：“”（）])"
)


class LoaderError(Exception):
    """A file that cannot be ingested; the message says why."""


@dataclass(frozen=True)
class ParseLimits:
    """What parsing one PDF may cost: address space in MB and wall-clock seconds."""

    memory_mb: int = 1536
    seconds: float = 120.0


def _is_readable(ch: str) -> bool:
    code = ord(ch)
    if code < 0x250 or 0x1E00 <= code < 0x1F00:  # Basic Latin, Latin-1, Latin Extended
        return unicodedata.category(ch)[0] in "LNPSZ"
    if 0x370 <= code < 0x400:  # Greek, common in formulas
        return True
    if (
        0x2E80 <= code < 0xA000  # CJK radicals, punctuation, kana, ideographs
        or 0xAC00 <= code < 0xD7B0  # Hangul
        or 0xF900 <= code < 0xFB00  # CJK compatibility ideographs
        or 0xFE30 <= code < 0xFE50  # CJK compatibility forms
        or 0xFF00 <= code < 0xFFF0  # full-width forms
        or 0x20000 <= code < 0x32000  # CJK extensions
        or 0x0300 <= code < 0x0370  # combining marks (accents in formulas)
        or 0x1D00 <= code < 0x1DC0  # phonetic extensions, small letters in formulas
        or 0x2070 <= code < 0x20A0  # super- and subscripts
        or 0x2100 <= code < 0x2150  # letterlike symbols (ℝ, ℓ)
        or 0x1D400 <= code < 0x1D800  # mathematical alphanumerics (𝑥, 𝑓)
    ):
        return True
    category = unicodedata.category(ch)
    return category[0] == "P" or category in ("Sm", "Sc", "Pd", "No")


def readable_ratio(text: str) -> float:
    """Share of non-space characters that are CJK, Latin, digits or punctuation.

    Letters of other scripts count as unreadable: a CID font without a
    Unicode map makes pypdf emit raw glyph ids, which land in scripts such as
    Armenian, Hebrew or Thaana.

    Args:
        text: Extracted text.

    Returns:
        A value in [0, 1]; 1.0 for text without visible characters.
    """
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return 1.0
    return sum(1 for ch in visible if _is_readable(ch)) / len(visible)


def is_garbled(text: str) -> bool:
    """Whether extracted text looks like a font without a Unicode map.

    Args:
        text: Text extracted from one PDF page.

    Returns:
        True when too few characters are readable.
    """
    stripped = "".join(text.split())
    if len(stripped) < 4:
        return False
    return readable_ratio(stripped) < GARBLE_THRESHOLD


def decode_text(data: bytes, name: str) -> str:
    """Decode note bytes: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK.

    Args:
        data: Raw file content.
        name: File name for error messages.

    Returns:
        The decoded text, without BOM and with Unix line ends.

    Raises:
        LoaderError: Empty, binary or undecodable content.
    """
    if not data.strip():
        raise LoaderError(f"{name}: the file is empty")
    text: str | None = None
    if data.startswith(codecs.BOM_UTF8):
        text = _try_decode(data[len(codecs.BOM_UTF8) :], "utf-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _try_decode(data, "utf-16")
    elif b"\x00" in data:
        raise LoaderError(f"{name}: binary content, not a text file")
    else:
        text = _try_decode(data, "utf-8") or _try_decode(data, "gb18030")
    if text is None:
        raise LoaderError(f"{name}: unknown text encoding (expected UTF-8 or GBK/GB18030)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if readable_ratio(text) < GARBLE_THRESHOLD or _control_ratio(text) > 0.01:
        raise LoaderError(f"{name}: binary content, not a text file")
    if not text.strip():
        raise LoaderError(f"{name}: the file is empty")
    return text


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _control_ratio(text: str) -> float:
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\t\f")
    return controls / max(len(text), 1)


def load_text(path: Path, source: str, markdown: bool = False) -> list[Document]:
    """Load a text note as one document per section, each with its heading path.

    A ``.txt`` note that is really Markdown (front matter, ATX headings) is
    read as Markdown; otherwise short heading-like lines cut the sections (see
    :mod:`rag.ingest.structure`).

    Args:
        path: File to read.
        source: Value of the ``source`` metadata.
        markdown: The file is Markdown by its name.

    Returns:
        Documents with ``heading`` (empty before the first heading), ``offset``
        and the note's ``title``.
    """
    text = decode_text(path.read_bytes(), source)
    markdown = markdown or looks_like_markdown(text)
    sections = text_sections(text, markdown)
    title = document_title(text, sections, markdown)
    return [
        Document(
            page_content=section,
            metadata={"source": source, "heading": heading, "offset": offset, "title": title},
        )
        for heading, offset, section in sections
    ]


def _pypdf_pages(path: Path, source: str) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoaderError(
                f"{source}: the PDF is encrypted with a password; save a copy without it"
            )
        return [page.extract_text() or "" for page in reader.pages]
    except LoaderError:
        raise
    except LimitReachedError as exc:
        # A stream that inflates past pypdf's limit: pypdfium2 would inflate all of it.
        raise LoaderError(
            f"{source}: the PDF expands to far more data than it holds (a decompression "
            "bomb?); set aside, not read"
        ) from exc
    except (
        PdfReadError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        OSError,
    ) as exc:
        raise _PdfUnreadable(str(exc)) from exc
    except Exception as exc:  # pypdf raises many types on broken files
        if "encrypt" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise LoaderError(
                f"{source}: the PDF is encrypted; save a copy without a password"
            ) from exc
        raise _PdfUnreadable(str(exc)) from exc


class _PdfUnreadable(Exception):
    pass


def _pdfium_pages(path: Path, source: str) -> list[str]:
    with PDFIUM_LOCK:  # the viewer renders pages from other threads
        return _pdfium_pages_unlocked(path, source)


def _pdfium_pages_unlocked(path: Path, source: str) -> list[str]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise LoaderError(
                f"{source}: the PDF is encrypted; save a copy without a password"
            ) from exc
        raise LoaderError(f"{source}: not a readable PDF (corrupt or truncated file)") from exc
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return pages
    finally:
        pdf.close()


def extract_pdf_text(path: Path, source: str) -> tuple[list[str], str]:
    """The text of every page of a PDF, and the engine that read it.

    pypdf extracts first; when its text for any page is garbled (a font
    without a Unicode map), or it cannot read the file, pypdfium2 reads it
    again. Runs in the parsing process (:mod:`rag.ingest.parse_process`).

    Returns:
        ``(page texts, engine)``.

    Raises:
        LoaderError: Corrupt, encrypted or bomb-like PDF.
    """
    try:
        pages = _pypdf_pages(path, source)
        engine = "pypdf"
        if any(is_garbled(p) for p in pages):
            logger.info("%s: pypdf text is garbled, extracting with pypdfium2", source)
            pages, engine = _pdfium_pages(path, source), "pypdfium2"
    except _PdfUnreadable as exc:
        logger.info("%s: pypdf failed (%s), trying pypdfium2", source, exc)
        pages, engine = _pdfium_pages(path, source), "pypdfium2"
    return pages, engine


def load_pdf(path: Path, source: str, limits: ParseLimits | None = None) -> list[Document]:
    """Load a PDF as one document per non-empty page.

    The text is extracted in a separate process bounded in memory and time
    (:func:`rag.ingest.parse_process.extract_in_process`), so that a hostile
    file costs a clear error, not the app.

    Args:
        path: File to read.
        source: Value of the ``source`` metadata.
        limits: Memory and time for the parsing process (default: :class:`ParseLimits`).

    Returns:
        Documents with 1-based ``page`` and ``offset`` 0.

    Raises:
        LoaderError: Corrupt, encrypted, bomb-like or text-less PDF.
    """
    from rag.ingest.parse_process import extract_in_process

    with path.open("rb") as fh:
        if not fh.read(1024).lstrip().startswith(b"%PDF"):
            raise LoaderError(f"{source}: not a PDF file (no %PDF header)")
    pages, engine = extract_in_process(path, source, limits or ParseLimits())
    docs = []
    for number, text in enumerate(pages, start=1):
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        text = _HARD_WRAP_RE.sub(r"\1", text)
        if not text.strip():
            continue
        if is_garbled(text):
            logger.warning("%s: page %d has unreadable text, skipped", source, number)
            continue
        docs.append(
            Document(
                page_content=text,
                metadata={"source": source, "page": number, "offset": 0},
            )
        )
    title = document_title(docs[0].page_content, []) if docs else ""
    for doc in docs:
        doc.metadata["title"] = title
    if not docs:
        if not pages:
            raise LoaderError(f"{source}: the PDF has no pages")
        raise LoaderError(
            f"{source}: the PDF has no text layer (scanned images?); run OCR on it first"
        )
    logger.debug("%s: %d pages with text via %s", source, len(docs), engine)
    return docs


def load_file(path: Path, source: str, limits: ParseLimits | None = None) -> list[Document]:
    """Load any supported note file.

    Args:
        path: File to read.
        source: Value of the ``source`` metadata (path as indexed).
        limits: Memory and time for parsing a PDF.

    Returns:
        The file's documents, at least one.

    Raises:
        LoaderError: Unsupported type, unreadable or empty file.
    """
    if not path.exists():
        raise LoaderError(f"{source}: no such file or folder")
    if not path.is_file():
        raise LoaderError(f"{source}: not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoaderError(
            f"{source}: unsupported file type '{suffix or '(none)'}'; "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    if path.stat().st_size == 0:
        raise LoaderError(f"{source}: the file is empty")
    try:
        if suffix in PDF_SUFFIXES:
            return load_pdf(path, source, limits)
        return load_text(path, source, markdown=suffix in (".md", ".markdown"))
    except OSError as exc:
        raise LoaderError(f"{source}: cannot read the file ({exc.strerror or exc})") from exc
