"""Split loaded documents into chunks that respect Chinese sentence boundaries.

Separators go from coarse to fine: paragraphs, lines, Chinese and Western
sentence ends, clause marks, then spaces. Each chunk carries ``source``,
``page`` or ``heading`` from its unit, ``chunk_index`` (position within the
source) and ``start_index`` (character offset within the file text or PDF
page).
"""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

#: Bump when the chunking logic changes, so unchanged files are re-chunked.
SPLITTER_VERSION = "1"

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
        for piece in splitter.split_documents([doc]):
            meta = {k: v for k, v in piece.metadata.items() if k != "offset"}
            meta["start_index"] = base + meta.get("start_index", 0)
            meta["chunk_index"] = len(chunks)
            chunks.append(Document(page_content=piece.page_content, metadata=meta))
    return chunks
