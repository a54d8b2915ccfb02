"""The quotation a Chinese answer opens with, checked against the passages.

A Chinese answer starts with the sentence of the notes that best answers the
question, ``笔记原文：“……”[n]``, then explains it (the local model is given
that start and continues it). The 1.5B model sometimes quotes loosely or quotes
the question itself, so :func:`check_quote` keeps a quotation only when it is
word for word in a passage (ignoring spaces and punctuation, which the model
changes between half- and full-width), and cites that passage. Quotation marks
inside the quotation are balanced, so a quoted phrase within it does not end
it. A quotation of the question is dropped, and a paraphrase loses the label
"笔记原文" (original text) and its quotation marks: it becomes "要点：" (key point).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: How a Chinese answer starts (see :data:`rag.answer.prompts.ANSWER_PREFILLS`).
QUOTE_LABEL = "笔记原文："
PARAPHRASE_LABEL = "要点："
_OPEN_RE = re.compile(r"^\s*笔记原文[：:]\s*“")
_TAIL_RE = re.compile(r"\s*(?P<cite>(?:\[\d{1,2}\]\s*)*)[；;。]?")
_NOISE_RE = re.compile(r"[\W_]+")
#: A shorter quotation is too little to check.
MIN_QUOTE_CHARS = 6


def _plain(text: str) -> str:
    return _NOISE_RE.sub("", text).lower()


def split_quote(answer: str) -> tuple[str, str, str] | None:
    """Split an answer that opens with ``笔记原文：“…”`` into quotation, citations and rest.

    Quotation marks inside the quotation are balanced; a quotation the model
    never closed ends with its line.

    Args:
        answer: The answer text.

    Returns:
        ``(quotation, citations written after it, rest of the answer)``, or
        None when the answer does not open with a quotation.
    """
    opening = _OPEN_RE.match(answer)
    if not opening:
        return None
    start, depth, end = opening.end(), 1, None
    for index in range(start, len(answer)):
        char = answer[index]
        depth += (char == "“") - (char == "”")
        if depth == 0:
            end = index
            break
    if end is None:  # never closed: the first line is the quotation
        line_end = answer.find("\n", start)
        end = len(answer) if line_end < 0 else line_end
        tail = _TAIL_RE.match(answer, end)
    else:
        tail = _TAIL_RE.match(answer, end + 1)
    assert tail is not None  # every part of the pattern is optional
    return answer[start:end].strip(), tail.group("cite").strip(), answer[tail.end() :].lstrip()


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
    parts = split_quote(answer)
    if parts is None:
        return answer
    quote, cited, rest = parts
    plain = _plain(quote)
    asked = _plain(question)
    if len(plain) < MIN_QUOTE_CHARS or plain in asked or asked in plain:
        return rest
    for number, text in enumerate(passages, start=1):
        if plain in _plain(text):
            return f"{QUOTE_LABEL}“{quote}”[{number}]\n\n{rest}".rstrip()
    return f"{PARAPHRASE_LABEL}{quote}{cited}\n\n{rest}".rstrip()
