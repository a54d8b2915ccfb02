"""The quotation a Chinese answer opens with, checked against the passages.

A Chinese answer starts with the sentence of the notes that best answers the
question, ``笔记原文：“……”[n]``, then explains it (the local model is given
that start and continues it). The 1.5B model sometimes quotes loosely or quotes
the question itself, so :func:`check_quote` keeps a quotation only when it is
word for word in a passage (ignoring spaces and punctuation, which the model
changes between half- and full-width), and cites that passage. A quotation of
the question is dropped, and a paraphrase loses the label "笔记原文" (original
text) and its quotation marks: it becomes "要点：" (key point).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: How a Chinese answer starts (see :data:`rag.prompts.ANSWER_PREFILLS`).
QUOTE_LABEL = "笔记原文："
PARAPHRASE_LABEL = "要点："
_QUOTE_RE = re.compile(
    r"^\s*笔记原文[：:]\s*[“\"「](?P<quote>.+?)[”\"」]\s*(?P<cite>(?:\[\d{1,2}\]\s*)*)[；;。]?"
)
_NOISE_RE = re.compile(r"[\W_]+")
#: A shorter quotation is too little to check.
MIN_QUOTE_CHARS = 6


def _plain(text: str) -> str:
    return _NOISE_RE.sub("", text).lower()


def check_quote(answer: str, passages: Sequence[str], question: str) -> str:
    """Keep the answer's opening quotation only if a passage holds it word for word.

    Args:
        answer: The complete answer.
        passages: The passages the model was given, numbered from 1 in order.
        question: The question that was answered.

    Returns:
        The answer with a verified quotation cited by its passage, or with an
        unverified one relabelled as a key point, or without a quotation of
        the question. An answer that does not open with a quotation is
        returned unchanged.
    """
    match = _QUOTE_RE.match(answer)
    if not match:
        return answer
    quote, rest = match.group("quote").strip(), answer[match.end() :].lstrip()
    plain = _plain(quote)
    asked = _plain(question)
    if len(plain) < MIN_QUOTE_CHARS or plain in asked or asked in plain:
        return rest
    for number, text in enumerate(passages, start=1):
        if plain in _plain(text):
            return f"{QUOTE_LABEL}“{quote}”[{number}]\n\n{rest}".rstrip()
    return f"{PARAPHRASE_LABEL}{quote}{match.group('cite').strip()}\n\n{rest}".rstrip()
