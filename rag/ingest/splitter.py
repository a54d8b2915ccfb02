"""Split loaded documents into chunks that respect Chinese sentence boundaries.

Separators go from coarse to fine: paragraphs, lines, Chinese and Western
sentence ends, clause marks, then spaces. A table is never cut inside a row:
its rows are grouped into chunks that each start with the table's caption and
header row (:func:`rag.ingest.structure.table_chunks`). Each chunk carries
``source``, ``page`` or ``heading`` and ``title`` from its unit, ``chunk_index``
(position within the source) and ``start_index`` (character offset within the
file text or PDF page).
"""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.ingest.structure import split_blocks, table_chunks

#: Bump when the chunking logic or the chunks' metadata change, so unchanged
#: files are re-chunked (their vectors come from the embedding cache).
SPLITTER_VERSION = "4"

SEPARATORS = [
    "\n\n",
    "\n",
    "。",
    "！",
    "？",
    "；",
    "! ",
    "? ",
    "; ",
    ". ",
    "，",
    "、",
    ", ",
    " ",
    "",
]


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    """Create the sentence-aware splitter.

    Args:
        chunk_size: Target chunk length in characters.
        chunk_overlap: Characters shared by neighbouring chunks.

    Returns:
        A configured splitter that keeps separators at the end of pieces.
    """
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        add_start_index=True,
        strip_whitespace=True,
    )


#: A piece shorter than this (a heading line above a long paragraph) joins its neighbour,
#: when chunks are at least :data:`MIN_PIECE_CHUNK` long; the joined chunk may then be up
#: to this much longer than ``CHUNK_SIZE``.
MIN_PIECE = 60
MIN_PIECE_CHUNK = 4 * MIN_PIECE


def join_tiny(text: str, pieces: list[tuple[int, str]], base: int = 0) -> list[tuple[int, str]]:
    """Join each piece shorter than :data:`MIN_PIECE` to the next one (the last to the previous).

    The joined text is the slice of ``text`` that spans both, so offsets stay exact.

    Args:
        text: The text the pieces were cut from.
        pieces: ``(offset in text, piece)`` pairs in order.
        base: Added to every returned offset.

    Returns:
        ``(base + offset, piece)`` pairs.
    """
    out: list[tuple[int, str]] = []
    pending: int | None = None
    for start, piece in pieces:
        end = start + len(piece)
        if pending is not None:
            start, pending = pending, None
            piece = text[start:end]
        if len(piece) < MIN_PIECE and len(pieces) > 1:
            pending = start
            continue
        out.append((start, piece))
    if pending is not None:
        start = out.pop()[0] if out else pending
        out.append((start, text[start:].rstrip()))
    return [(base + start, piece) for start, piece in out]


def split_documents(docs: list[Document], chunk_size: int, chunk_overlap: int) -> list[Document]:
    """Split the units of one file into numbered chunks.

    Args:
        docs: Units of one source file, in file order.
        chunk_size: Target chunk length in characters.
        chunk_overlap: Characters shared by neighbouring chunks.

    Returns:
        Chunks with ``chunk_index`` and ``start_index`` metadata.
    """
    splitter = make_splitter(chunk_size, chunk_overlap)
    chunks: list[Document] = []
    for doc in docs:
        base = doc.metadata.get("offset", 0)
        meta = {k: v for k, v in doc.metadata.items() if k != "offset"}
        for block in split_blocks(doc.page_content):
            if block.is_table:
                pieces = table_chunks(block, chunk_size)
            else:
                unit = Document(page_content=block.text, metadata={})
                split = [
                    (p.metadata.get("start_index", 0), p.page_content)
                    for p in splitter.split_documents([unit])
                ]
                if chunk_size >= MIN_PIECE_CHUNK:
                    pieces = join_tiny(block.text, split, block.offset)
                else:
                    pieces = [(block.offset + start, piece) for start, piece in split]
            for offset, text in pieces:
                piece_meta = {**meta, "start_index": base + offset, "chunk_index": len(chunks)}
                if block.is_table:
                    piece_meta["table"] = True
                chunks.append(Document(page_content=text, metadata=piece_meta))
    return chunks
