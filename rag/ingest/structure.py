"""The structure of a note's text: sections under headings, a title, tables.

Notes are often Markdown saved as ``.txt``, or plain text whose headings are
short lines ("1.1.2 LLM的能力与缩放定律", "预训练"). :func:`text_sections`
cuts a text into sections with their heading path, so that every chunk knows
which section it comes from (shown with the sources, and searched with the
chunk). :func:`split_blocks` finds tables (tab-separated or Markdown pipe
tables) so that the splitter can keep their rows together with their header
(:func:`table_chunks`) instead of cutting a row off from the column names.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

_ATX_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.S)
_LIQUID_RE = re.compile(r"\{%.*?%\}")
_NUMBERED_RE = re.compile(
    r"^(?:第[一二三四五六七八九十百\d]+[章节部分篇]|[(（]?(\d{1,2}(?:[.．]\d{1,2})*)[)）]?[.．、]?)\s*"
)
_SENTENCE_END = "。！？；，,;!?：:、"
_PIPE_ROW_RE = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
#: Longest line that can be a heading (in characters).
MAX_HEADING = 40
#: Longest line that can be a heading without a number.
MAX_BARE_HEADING = 20
#: The level given to an unnumbered heading: below every numbered one.
BARE_LEVEL = 9
#: A section with less text than this under its heading line joins the next one.
MIN_SECTION = 10


def looks_like_markdown(text: str) -> bool:
    """Whether a ``.txt`` note is really Markdown (front matter, or two short ATX headings)."""
    if _FRONT_MATTER_RE.match(text):
        return True
    headings = 0
    in_fence = False
    for line in text.splitlines():
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        elif not in_fence and _ATX_RE.match(line) and len(line) <= MAX_HEADING + 7:
            headings += 1
            if headings >= 2:
                return True
    return False


def front_matter_title(text: str) -> str:
    """The ``title:`` of a Markdown front matter block, if any."""
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return ""
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "title":
            return value.strip().strip("\"'")
    return ""


def _blank_out(text: str, span: tuple[int, int]) -> str:
    """``text`` with a span replaced by as many spaces and line ends (offsets stay valid)."""
    start, end = span
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def markdown_sections(text: str) -> list[tuple[str, int, str]]:
    """Cut Markdown at ATX headings, ignoring headings inside code fences.

    The front matter and Liquid tags (``{% include … %}``) are left out of the
    sections; offsets still point into ``text``.

    Args:
        text: Markdown source.

    Returns:
        ``(heading_path, offset, section_text)`` triples in file order; the
        heading path joins the enclosing headings with `` > ``.
    """
    match = _FRONT_MATTER_RE.match(text)
    if match:
        text = _blank_out(text, match.span())
    for liquid in reversed(list(_LIQUID_RE.finditer(text))):
        text = _blank_out(text, liquid.span())
    sections: list[tuple[str, int, str]] = []
    stack: list[tuple[int, str]] = []
    start, heading, offset, in_fence = 0, "", 0, False
    for line in text.splitlines(keepends=True):
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        found = None if in_fence else _ATX_RE.match(line.rstrip("\n"))
        if found:
            sections.append((heading, start, text[start:offset]))
            level, title = len(found.group(1)), found.group(2).strip()
            stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
            heading, start = " > ".join(t for _, t in stack), offset
        offset += len(line)
    sections.append((heading, start, text[start:]))
    return [s for s in sections if s[2].strip()]


def heading_level(line: str, following: str) -> int | None:
    """The level of ``line`` as a plain-text heading, or None when it is not one.

    A heading is a short line that does not end like a sentence and is not a
    list item: numbered ("1.1.2 …": level 3, "第一章 …": 1), or, when at most
    :data:`MAX_BARE_HEADING` characters, unnumbered and followed by a longer line
    (level :data:`BARE_LEVEL`).

    Args:
        line: The candidate line.
        following: The next non-empty line (empty at the end).
    """
    text = line.strip()
    if not text or len(text) > MAX_HEADING or text[-1] in _SENTENCE_END:
        return None
    if text[0] in "-•*·>|#=`" or text.startswith(("http", "//")):
        return None
    if sum(ch.isalpha() for ch in text) < 2:
        return None
    numbered = _NUMBERED_RE.match(text)
    rest = text[numbered.end() :] if numbered else text
    if numbered and numbered.end() > 0 and sum(ch.isalpha() for ch in rest) >= 2:
        digits = numbered.group(1)
        return len(re.split(r"[.．]", digits)) if digits else 1
    if len(text) <= MAX_BARE_HEADING and len(following.strip()) > len(text):
        return BARE_LEVEL
    return None


def plain_sections(text: str) -> list[tuple[str, int, str]]:
    """Cut plain text at the lines :func:`heading_level` takes for headings.

    Args:
        text: The note's text.

    Returns:
        ``(heading_path, offset, section_text)`` triples in file order (the
        section starts with its heading line).
    """
    lines = text.splitlines(keepends=True)
    nonempty = [i for i, ln in enumerate(lines) if ln.strip()]
    following = {a: lines[b] for a, b in itertools.pairwise(nonempty)}
    sections: list[tuple[str, int, str]] = []
    stack: list[tuple[int, str]] = []
    start = offset = 0
    heading = ""
    for index, line in enumerate(lines):
        level = heading_level(line, following.get(index, ""))
        if level is not None:
            sections.append((heading, start, text[start:offset]))
            stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, line.strip())]
            heading, start = " > ".join(t for _, t in stack), offset
        offset += len(line)
    sections.append((heading, start, text[start:]))
    return [s for s in sections if s[2].strip()]


def merge_small(
    sections: list[tuple[str, int, str]], min_chars: int = MIN_SECTION
) -> list[tuple[str, int, str]]:
    """Join each section that is little more than its heading line to the one after it.

    A title line, or a heading right above a subheading, would otherwise be a
    chunk of its own that matches many questions and answers none. Sections
    are contiguous, so a joined section is the text from the first one's
    offset; it takes the later (more specific) heading.
    """
    merged: list[tuple[str, int, str]] = []
    pending: tuple[int, str] | None = None
    for heading, offset, body in sections:
        if pending is not None:
            offset, body = pending[0], pending[1] + body
        under = body.strip().partition("\n")[2]
        if len("".join(under.split())) < min_chars:
            pending = (offset, body)
            continue
        merged.append((heading, offset, body))
        pending = None
    if pending is not None:
        if merged:
            heading, offset, body = merged.pop()
            merged.append((heading, offset, body + pending[1]))
        else:
            merged.append((sections[-1][0], pending[0], pending[1]))
    return merged


def text_sections(text: str, markdown: bool) -> list[tuple[str, int, str]]:
    """Sections of a note: Markdown headings, or plain-text headings; tiny ones joined.

    Args:
        text: The note's text.
        markdown: The file is Markdown (by name, or :func:`looks_like_markdown`).

    Returns:
        ``(heading_path, offset, section_text)`` triples; offsets index ``text``.
    """
    sections = markdown_sections(text) if markdown else plain_sections(text)
    return merge_small(sections) if sections else sections


def document_title(text: str, sections: list[tuple[str, int, str]], markdown: bool = False) -> str:
    """A display title for a note.

    The front matter's title; else, in Markdown, the first heading; else the
    first line when it is short enough to be a title; else the first heading;
    else the first line.
    """
    title = front_matter_title(text)
    if title:
        return title[:80]
    first_line = next(
        (
            s
            for s in (line.strip().lstrip("#").strip() for line in text.splitlines())
            if s.strip("-")
        ),
        "",
    )
    first_heading = sections[0][0].split(" > ")[0] if sections and sections[0][0] else ""
    if not markdown and 0 < len(first_line) <= MAX_HEADING:
        return first_line
    return (first_heading or first_line)[:80]


# -- tables -------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A run of a section's text: prose, or a table (``rows``, the first one its header)."""

    offset: int
    text: str
    rows: list[list[str]] = field(default_factory=list)
    caption: str = ""

    @property
    def is_table(self) -> bool:
        """Whether the block is a table."""
        return bool(self.rows)


def _cells(line: str) -> list[str] | None:
    if "\t" in line:
        cells = [c.strip() for c in line.rstrip("\n").split("\t")]
        return cells if len(cells) >= 2 and sum(bool(c) for c in cells) >= 2 else None
    if _PIPE_ROW_RE.match(line) and not _PIPE_RULE_RE.match(line):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        return cells if len(cells) >= 2 else None
    return None


def split_blocks(text: str) -> list[Block]:
    """Cut a section into prose and tables.

    A table is at least two consecutive lines with the same number (two or
    more) of tab-separated or ``|``-separated cells; a Markdown rule line
    (``|---|---|``) inside it is dropped. Its caption is the last short prose
    line before it ("RAG 和微调的对比可以参考下表").

    Args:
        text: A section's text.

    Returns:
        The blocks in order; offsets are within ``text``.
    """
    blocks: list[Block] = []
    lines = text.splitlines(keepends=True)
    prose_start, offset, index = 0, 0, 0
    starts = []
    for line in lines:
        starts.append(offset)
        offset += len(line)
    while index < len(lines):
        first = _cells(lines[index])
        end = index + 1
        rows = [first] if first else []
        while first and end < len(lines):
            if _PIPE_RULE_RE.match(lines[end]) and "|" in lines[end]:
                end += 1
                continue
            cells = _cells(lines[end])
            if cells is None or len(cells) != len(first):
                break
            rows.append(cells)
            end += 1
        if len(rows) < 2:
            index += 1
            continue
        before = text[prose_start : starts[index]]
        if before.strip():
            blocks.append(Block(prose_start, before))
        previous = [ln.strip() for ln in before.splitlines() if ln.strip()]
        caption = previous[-1] if previous and len(previous[-1]) <= 80 else ""
        table_end = starts[end] if end < len(lines) else len(text)
        blocks.append(Block(starts[index], text[starts[index] : table_end], rows, caption))
        prose_start, index = table_end, end
    rest = text[prose_start:]
    if rest.strip():
        blocks.append(Block(prose_start, rest))
    return blocks


def render_row(header: list[str], row: list[str]) -> str:
    """One table row as a line that names its columns: ``知识更新：RAG：…；微调：…``."""
    label, *values = row
    named = [f"{h}：{v}" if h else v for h, v in zip(header[1:], values, strict=False) if v]
    return f"{label}：" + "；".join(named) if label else "；".join(named)


def table_chunks(block: Block, chunk_size: int) -> list[tuple[int, str]]:
    """A table as chunks of whole rows, each led by the caption and the header row.

    Args:
        block: A table block.
        chunk_size: Target chunk length in characters (at least one row per chunk).

    Returns:
        ``(offset of the chunk's first row within the block's section, text)`` pairs.
    """
    header, *rows = block.rows
    lead = " | ".join(header)
    lead = f"{block.caption}（{lead}）" if block.caption else lead
    row_offsets = []
    position = 0
    for line in block.text.splitlines(keepends=True):
        if _cells(line) is not None:
            row_offsets.append(block.offset + position)
        position += len(line)
    chunks: list[tuple[int, str]] = []
    current: list[str] = []
    first_offset = block.offset
    for number, row in enumerate(rows, start=1):
        line = render_row(header, row)
        size = len(lead) + sum(len(r) + 1 for r in current) + len(line)
        if current and size > chunk_size:
            chunks.append((first_offset, "\n".join([lead, *current])))
            current = []
        if not current:
            first_offset = row_offsets[number] if number < len(row_offsets) else block.offset
        current.append(line)
    if current:
        chunks.append((first_offset, "\n".join([lead, *current])))
    return chunks
