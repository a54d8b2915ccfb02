"""Citation markers for answer lines the model left uncited.

The small local model often restates a passage without writing its ``[n]``.
After the answer is complete, :func:`attribute` gives each such line the number
of the passage it shares the most words with (jieba tokens, as for BM25), when
that passage holds at least half of the line's words. A line that no passage
supports that well stays uncited: a marker is a claim about the source, and a
guessed one would mislead more than a missing one.

The model also numbers list items as ``[1]``, ``[2]``… When such a run of
line labels goes past the number of passages, the labels cannot be citations:
:func:`relabel_enumeration` turns them into ``1.``, ``2.``… first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text.tokens import tokenize

#: A passage must hold at least this share of a line's distinct words.
MIN_LINE_SUPPORT = 0.5
#: ...and at least this many of them.
MIN_SHARED_WORDS = 2

#: A citation of passage n, as the prompt asks for it.
CITATION_RE = re.compile(r"\[(\d{1,2})\]")
_TRAILING_PUNCT_RE = re.compile(r"[。．.!！?？;；,，]+$")
_LEADING_MARKER_RE = re.compile(r"^(\s*)(?:[-*•]\s*)?\[(\d{1,2})\]\s*")


def relabel_enumeration(answer: str, n_passages: int) -> str:
    """Turn line labels ``[1]``, ``[2]``… into ``1.``, ``2.``… when they count past the passages.

    Args:
        answer: The answer text.
        n_passages: How many passages the model was given.

    Returns:
        The answer, with such a run of labels rewritten; otherwise unchanged.
    """
    lines = answer.split("\n")
    labels = {i: m for i, line in enumerate(lines) if (m := _LEADING_MARKER_RE.match(line))}
    numbers = [int(m.group(2)) for m in labels.values()]
    if not numbers or max(numbers) <= n_passages or numbers != list(range(1, len(numbers) + 1)):
        return answer
    for i, match in labels.items():
        lines[i] = f"{match.group(1)}{match.group(2)}. {lines[i][match.end() :]}"
    return "\n".join(lines)


def best_passage(line: str, passages: Sequence[set[str]]) -> int | None:
    """The 1-based number of the passage that best supports ``line``, if any does.

    Args:
        line: One line of an answer.
        passages: The token sets of the passages, in prompt order.

    Returns:
        The passage number, or None when none holds :data:`MIN_LINE_SUPPORT`
        of the line's words (and :data:`MIN_SHARED_WORDS` of them).
    """
    words = set(tokenize(line))
    if len(words) < MIN_SHARED_WORDS:
        return None
    best, best_shared = None, 0
    for number, tokens in enumerate(passages, start=1):
        shared = len(words & tokens)
        if shared > best_shared:
            best, best_shared = number, shared
    if best is None or best_shared < MIN_SHARED_WORDS:
        return None
    return best if best_shared / len(words) >= MIN_LINE_SUPPORT else None


def attribute(answer: str, passages: Sequence[str]) -> str:
    """Add ``[n]`` to the answer lines that have none and that a passage supports.

    Lines that already cite, and lines ending with a colon (an introduction
    such as "According to your notes:"), are left as they are. The marker goes
    before the line's closing punctuation: "…检索增强生成[1]。".

    Args:
        answer: The complete answer.
        passages: The passages the model was given, numbered from 1 in order.

    Returns:
        The answer with the added markers.
    """
    answer = relabel_enumeration(answer, len(passages))
    if not passages:
        return answer
    token_sets = [set(tokenize(text)) for text in passages]
    lines = answer.split("\n")
    for index, line in enumerate(lines):
        body = line.rstrip()
        if not body.strip() or CITATION_RE.search(body) or body.endswith((":", "：")):
            continue
        number = best_passage(body, token_sets)
        if number is None:
            continue
        punct = _TRAILING_PUNCT_RE.search(body)
        cut = punct.start() if punct else len(body)
        space = " " if cut and body[cut - 1].isascii() and not body[cut - 1].isspace() else ""
        lines[index] = f"{body[:cut]}{space}[{number}]{body[cut:]}{line[len(body) :]}"
    return "\n".join(lines)
