"""Check a finished answer against the passages it cites, sentence by sentence.

Every number and every Latin-script name an answer states (:mod:`rag.answer.facts`)
must stand in the passages its sentence cites, or, for an uncited sentence,
in one of the prompt's passages, or in the question. A sentence with a figure
that none holds is dropped; when nothing of substance is left, the answer
becomes the refusal (the nearest passages are still shown).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.citations import CITATION_RE
from rag.answer.facts import unsupported_figures

#: Cut after Chinese sentence ends, and after Western ones that follow a word (not a list
#: label's number) and precede a space or the line's end.
_SENTENCE_RE = re.compile(r".*?(?:[。！？]|(?<=[A-Za-z\u4e00-\u9fff)\]”\"'])[.!?](?=\s|$)|$)")
#: A line that only introduces the answer ("According to your notes:", "要点：").
_LEAD_RE = re.compile(r"^\s*(according to your notes:?|要点[：:]?|笔记原文[：:]?)\s*$", re.I)
_CONTENT_RE = re.compile(r"[^\W_]")
#: A list item's number or bullet.
_ITEM_RE = re.compile(r"^\s*(\d+[.、)]|[-*•])\s*")


@dataclass(frozen=True)
class Verified:
    """An answer after the check."""

    text: str
    #: Sentences dropped, each with the figures no passage held.
    dropped: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Nothing was left but labels, list numbers and citations (or nothing at all).
    emptied: bool = False


def _sentences(line: str) -> list[str]:
    parts = [m.group(0) for m in _SENTENCE_RE.finditer(line) if m.group(0)]
    return parts or [line]


def _has_content(text: str) -> bool:
    """Whether a line, past its list number, says anything: "谷歌[1]" and "Yes [1]." do."""
    body = CITATION_RE.sub("", text)
    lines = [_ITEM_RE.sub("", ln) for ln in body.splitlines() if not _LEAD_RE.match(ln)]
    return any(_CONTENT_RE.search(ln) for ln in lines)


def verify_answer(answer: str, passages: Sequence[str], question: str) -> Verified:
    """Drop the sentences of ``answer`` whose figures the passages they cite do not hold.

    Args:
        answer: The complete answer (citations ``[n]`` number the passages from 1).
        passages: The passages the model was given, in prompt order.
        question: The question (its own figures count as given).

    Returns:
        The kept text, what was dropped, and whether anything of substance is left.
    """
    dropped: list[tuple[str, tuple[str, ...]]] = []
    kept_lines: list[str] = []
    for line in answer.split("\n"):
        kept: list[str] = []
        for sentence in _sentences(line):
            cited = [int(n) for n in CITATION_RE.findall(sentence) if 1 <= int(n) <= len(passages)]
            sources = [passages[n - 1] for n in cited] or list(passages)
            missing = unsupported_figures(sentence, sources, question)
            if missing:
                dropped.append((sentence.strip(), tuple(missing)))
            else:
                kept.append(sentence)
        text = "".join(kept)
        if text.strip() or not line.strip():
            kept_lines.append(text.rstrip() if text.strip() else "")
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept_lines)).strip()
    return Verified(text, tuple(dropped), emptied=not _has_content(text))
