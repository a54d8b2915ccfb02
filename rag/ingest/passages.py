"""Find a stored passage again in the text it was cut from.

A chunk keeps the offset it was cut at (``start_index``), but the note may
have been edited since, and a PDF page's text depends on the extractor: pypdf
(at ingest) and pdfium (for the viewer) space and wrap lines differently. So
:func:`locate` tries the offset first, then the exact text, then the text with
all whitespace ignored, then the passage's first and last words. Offsets it
returns always index the text searched, ready for highlighting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Characters (without spaces) at each end of a passage used as anchors when
#: the whole passage is not found.
ANCHOR_CHARS = 12
#: A matched passage may not be much longer than the passage itself.
MAX_STRETCH = 1.6


@dataclass(frozen=True)
class Span:
    """``text[start:end]`` is the passage."""

    start: int
    end: int


def _squeeze(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace, and for each kept character its index in ``text``."""
    kept: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if not ch.isspace():
            kept.append(ch)
            index.append(i)
    return "".join(kept), index


def locate(text: str, passage: str, hint: int | None = None) -> Span | None:
    """Where ``passage`` is in ``text``, or None when it is not there any more.

    Args:
        text: The text searched (a note, a section, a PDF page's text).
        passage: The stored passage.
        hint: The offset the passage was cut at, when known.

    Returns:
        The span of ``text`` that holds the passage.
    """
    passage = passage.strip()
    if not passage or not text:
        return None
    if hint is not None and text.startswith(passage, max(hint, 0)):
        return Span(hint, hint + len(passage))
    found = text.find(passage)
    if found >= 0:
        return Span(found, found + len(passage))
    squeezed, index = _squeeze(text)
    needle, _ = _squeeze(passage)
    if not needle:
        return None
    found = squeezed.find(needle)
    if found >= 0:
        return Span(index[found], index[found + len(needle) - 1] + 1)
    return _anchored(squeezed, index, needle)


def _anchored(squeezed: str, index: Sequence[int], needle: str) -> Span | None:
    """The span from the passage's first words to its last words, when both are found."""
    size = min(ANCHOR_CHARS, len(needle) // 2)
    if size < 4:
        return None
    head = squeezed.find(needle[:size])
    if head < 0:
        return None
    tail = squeezed.find(needle[-size:], head + size)
    if tail < 0 or tail + size - head > len(needle) * MAX_STRETCH:
        return None
    return Span(index[head], index[tail + size - 1] + 1)


def line_span(text: str, start: int, lines: int) -> Span | None:
    """``lines`` whole lines of ``text`` from offset ``start`` (a table chunk's rows).

    A table's chunk is its rows rewritten under the caption and header, not a slice
    of the note, so it is found by where its first row starts and how many rows it has.
    """
    if not 0 <= start < len(text) or lines < 1:
        return None
    end = start
    for _ in range(lines):
        found = text.find("\n", end)
        end = len(text) if found < 0 else found + 1
    return Span(start, len(text[:end].rstrip("\n")))


def section_at(sections: Sequence[tuple[str, int, str]], offset: int) -> int | None:
    """The index of the section (``(heading, offset, text)``) that holds ``offset``."""
    for i, (_, start, body) in enumerate(sections):
        if start <= offset < start + max(len(body), 1):
            return i
    return None


@dataclass(frozen=True)
class Excerpt:
    """Text around a passage: ``before + passage + after``, cut to a window."""

    before: str
    passage: str
    after: str
    #: Text was left out before ``before`` / after ``after``.
    cut_before: bool = False
    cut_after: bool = False


def excerpt(text: str, span: Span | None, window: int) -> Excerpt:
    """The passage with up to ``window`` characters of ``text`` on each side.

    Cuts fall on a line end where one is near, so the context starts and ends
    with whole lines. Without a span, the start of the text is the context.
    """
    if span is None:
        cut = len(text) > 2 * window
        return Excerpt(text[: 2 * window] if cut else text, "", "", cut_after=cut)
    start = max(0, span.start - window)
    if start > 0:
        line = text.find("\n", start, span.start)
        start = line + 1 if line >= 0 else start
    end = min(len(text), span.end + window)
    if end < len(text):
        line = text.rfind("\n", span.end, end)
        end = line if line >= 0 else end
    return Excerpt(
        text[start : span.start],
        text[span.start : span.end],
        text[span.end : end],
        cut_before=start > 0,
        cut_after=end < len(text),
    )
