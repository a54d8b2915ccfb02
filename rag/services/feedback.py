"""Ratings as eval questions: the lines ``python -m rag.feedback export`` writes (pure).

Each rating becomes one line of the eval format (:mod:`rag.cli.eval`) that
``python -m rag.eval`` can run again::

    {"id": "feedback-7", "question": ..., "source": <the top passage's note>,
     "page": <its page, for a PDF>, "evidence": [<its first sentence>] (👍 only),
     "expected_answer": <the student's answer (👎) or the rated answer (👍)>,
     "keywords": [[term], ...] (from the student's expected answer),
     "scope": {"source": [...], "heading": ...} (when the question was scoped),
     "rating": "up" | "down", "reason": ..., "owner": ..., "rated_at": ...}

A 👎 says the answer was wrong, not which passage was right, so only a 👍
names the top passage's first sentence as the evidence to find again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rag.store.feedback import Feedback
from rag.text.sentences import split_sentences
from rag.text.tokens import tokenize

#: Key terms taken from an expected answer as keyword groups.
MAX_KEYWORDS = 5
_CITATION_RE = re.compile(r"\[\d+\]")
_TERM_RE = re.compile(r"[\w\u4e00-\u9fff]")


def expected_keywords(expected: str, limit: int = MAX_KEYWORDS) -> list[list[str]]:
    """Key terms of an expected answer, one group each, in order of first use.

    Terms are the answer's words (jieba, without stopwords) of two characters
    or more; the longest are kept when there are more than ``limit``.
    """
    words = [w for w in tokenize(_CITATION_RE.sub(" ", expected)) if len(_TERM_RE.findall(w)) >= 2]
    unique = list(dict.fromkeys(words))
    kept = set(sorted(unique, key=lambda w: -len(w))[:limit])
    return [[w] for w in unique if w in kept]


def feedback_line(item: Feedback) -> dict[str, Any]:
    """One rating as an eval line (see the module docstring)."""
    line: dict[str, Any] = {"id": f"feedback-{item.id}", "question": item.question}
    top = item.passages[0] if item.passages else None
    if top and top.get("source"):
        line["source"] = top["source"]
        if top.get("page") is not None:
            line["page"] = top["page"]
        if item.rating == "up":
            first = split_sentences(str(top.get("text", "")))
            if first:
                line["evidence"] = [first[0]]
    expected = item.expected if item.rating == "down" else item.answer
    if expected:
        line["expected_answer"] = expected
    keywords = expected_keywords(item.expected) if item.expected else []
    if keywords:
        line["keywords"] = keywords
    if item.scope:
        line["scope"] = dict(item.scope)
    line["rating"] = item.rating
    if item.reason:
        line["reason"] = item.reason
    line["owner"] = item.owner
    line["rated_at"] = datetime.fromtimestamp(item.created_at, UTC).isoformat(timespec="seconds")
    return line


def export_lines(items: Iterable[Feedback], only: str = "all") -> list[dict[str, Any]]:
    """The ratings of one kind (``up``, ``down`` or ``all``) as eval lines, oldest first.

    Raises:
        ValueError: ``only`` is none of those.
    """
    if only not in ("up", "down", "all"):
        raise ValueError(f"--only must be up, down or all (got {only!r})")
    return [feedback_line(item) for item in items if only == "all" or item.rating == only]
