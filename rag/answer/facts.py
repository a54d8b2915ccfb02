"""Figures in an answer (numbers and Latin-script names) and whether the passages hold them.

A small model's invented facts are mostly figures: a score, a size, a year, an
author. :func:`figures` finds them in an answer; :func:`unsupported_figures`
keeps those that neither the passages nor the question contain. Citation
markers and list labels are not figures. In a Chinese answer every
Latin-script word counts as a name; in an English one only words written
like names: with a digit, with two capitals (GPT, OpenAI), or capitalized
in the middle of a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text.language import detect_language

_MARKER_RE = re.compile(
    r"\[\d{1,2}\]|[(（]\d{1,2}[)）]|(?:^|(?<=[“\"]))\s*\d{1,2}(?:[.、)）]\s|[、)）]|\.(?!\d))", re.M
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.'][A-Za-z0-9]+)*")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*%?")
_SENTENCE_END = '.:!?;\n。！？；：“"(（'
#: Capitalized words that are not names when they start a clause.
_COMMON = frozenset(
    "a an the this that these those it its they their in on at of for to and or but if "
    "when while with without by from as is are was were be not no yes according your "
    "notes note first second third then also both each every all some".split()
)


def fold(text: str) -> str:
    """``text`` without spaces and thousands separators, lower-cased, for matching figures."""
    return re.sub(r"[\s,，]+", "", text).lower()


def _is_name(word: str, text: str, start: int, english: bool) -> bool:
    if not english:
        return len(word) >= 2 or word.isupper()
    if any(ch.isdigit() for ch in word) or sum(ch.isupper() for ch in word) >= 2:
        return True
    if not word[0].isupper() or word.lower() in _COMMON:
        return False
    before = text[:start].rstrip(" \t*-•")
    return bool(before) and before[-1] not in _SENTENCE_END and not before[-1].isdigit()


def figures(answer: str) -> list[str]:
    """Numbers and Latin-script names stated in ``answer``, in order, without repeats.

    Args:
        answer: An answer's text.

    Returns:
        The figures as written (a name with its digits, e.g. ``GPT-4``, is one figure).
    """
    text = _MARKER_RE.sub(" ", answer)
    english = detect_language(text) == "en"
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _WORD_RE.finditer(text):
        spans.append(match.span())
        if _is_name(match.group(), text, match.start(), english):
            found.append(match.group())
    for match in _NUMBER_RE.finditer(text):
        inside = any(a <= match.start() < b for a, b in spans)
        if not inside:
            found.append(match.group())
    return list(dict.fromkeys(found))


def unsupported_figures(answer: str, passages: Sequence[str], question: str = "") -> list[str]:
    """The figures of ``answer`` that no passage (and not the question) contains.

    Matching ignores case, spaces and thousands separators.

    Args:
        answer: An answer's text.
        passages: The passages the answer may draw on.
        question: The question (its own figures count as given).

    Returns:
        The unsupported figures, in order.
    """
    haystack = fold("\n".join([*passages, question]))
    return [figure for figure in figures(answer) if fold(figure) not in haystack]
