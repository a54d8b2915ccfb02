"""Sentences of a passage, for sentence-level similarity (pure function)."""

from __future__ import annotations

import re

_SENTENCE_END_RE = re.compile(r"(?<=[。！？!?；;\n])")
#: Shorter pieces (a list label, a stray heading word) are not scored on their own.
MIN_SENTENCE = 6


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``: cut after Chinese and Western sentence ends and line ends.

    Args:
        text: A passage.

    Returns:
        The stripped sentences of at least :data:`MIN_SENTENCE` characters, in
        order; the whole stripped text when none is that long.
    """
    parts = [part.strip() for part in _SENTENCE_END_RE.split(text)]
    sentences = [part for part in parts if len(part) >= MIN_SENTENCE]
    return sentences or ([text.strip()] if text.strip() else [])


def around(sentences: list[str], index: int, reach: int) -> str:
    """Sentence ``index`` joined with up to ``reach`` sentences either side."""
    return "".join(sentences[max(0, index - reach) : index + reach + 1])
