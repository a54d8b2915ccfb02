"""Two neighbouring chunks that both rank high are one passage (pure functions).

A chunk holds a few hundred characters, and the splitter cuts a section where
its length says, not where its meaning does: the sentence a question asks about
often stands in the chunk right after (or before) the one that ranks first, and
both then take a slot of the top k. :func:`group_neighbours` joins a ranked
chunk to a better-ranked one next to it in the same note, section and page (a
table's rows to its rows) when
its score is close to that one's, so the passage holds both and the slot it
frees goes to the next candidate. :func:`join_texts` writes the two as one text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.documents import Document

#: Only candidates this high in the ranking may join a passage.
REACH = 10
#: How far below its passage's first chunk a neighbour may score and still join it.
MARGIN = 0.05
#: Chunks in one passage at most.
MAX_PARTS = 2
#: Shorter shared ends are a coincidence, not the splitter's overlap.
MIN_OVERLAP = 10


@dataclass
class Passage:
    """Ranked chunks shown as one passage: its best chunk first."""

    score: float
    parts: list[tuple[str, Document]] = field(default_factory=list)

    def in_order(self) -> list[tuple[str, Document]]:
        """The parts in the order they stand in the note."""
        return sorted(self.parts, key=lambda part: _index(part[1]))


def _index(doc: Document) -> int:
    return int(doc.metadata.get("chunk_index") or 0)


def _place(doc: Document) -> tuple[Any, Any, Any, bool]:
    meta = doc.metadata
    # A table's rows join each other, not the prose around the table.
    return meta.get("source"), meta.get("heading"), meta.get("page"), bool(meta.get("table"))


def _next_to(a: Document, b: Document) -> bool:
    return (
        a.metadata.get("chunk_index") is not None
        and b.metadata.get("chunk_index") is not None
        and _place(a) == _place(b)
        and abs(_index(a) - _index(b)) == 1
    )


def group_neighbours(
    ranked: Sequence[tuple[float, str, Document]],
    k: int,
    reach: int = REACH,
    margin: float = MARGIN,
    max_parts: int = MAX_PARTS,
) -> list[Passage]:
    """The top ``k`` passages of ranked chunks, a close-scoring neighbour joined to its chunk.

    Args:
        ranked: (score, chunk id, chunk), best first.
        k: Passages wanted.
        reach: Only the first ``reach`` candidates may join a passage.
        margin: Largest score gap between a passage's first chunk and a joining one.
        max_parts: Chunks per passage at most.

    Returns:
        Up to ``k`` passages, best first.
    """
    passages: list[Passage] = []
    for position, (score, chunk_id, doc) in enumerate(ranked):
        joined = position < reach and next(
            (
                passage
                for passage in passages
                if len(passage.parts) < max_parts
                and passage.score - score <= margin
                and any(_next_to(doc, other) for _, other in passage.parts)
            ),
            None,
        )
        if joined:
            joined.parts.append((chunk_id, doc))
        elif len(passages) < k:
            passages.append(Passage(score, [(chunk_id, doc)]))
        elif position >= reach:
            break
    return passages


def join_texts(texts: Sequence[str]) -> str:
    """Chunks that follow each other in a note as one text, their overlap written once.

    A table's chunks each repeat its caption line; the later one's is left out.
    """
    out = texts[0] if texts else ""
    for text in texts[1:]:
        first, _, rest = text.partition("\n")
        if rest and first and out.partition("\n")[0] == first:
            text = rest
        overlap = next(
            (
                size
                for size in range(min(len(out), len(text)), MIN_OVERLAP - 1, -1)
                if out.endswith(text[:size])
            ),
            0,
        )
        if overlap:
            out += text[overlap:]
        else:
            out += ("" if out.endswith("\n") else "\n") + text
    return out
