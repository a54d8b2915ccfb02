"""Whether a question leans on the conversation, and how to search for it without a chat model."""

from __future__ import annotations

import re
from collections.abc import Sequence

_FOLLOW_UP_RE = re.compile(
    r"(它|它们|其|这个|那个|这种|那种|这些|那些|该|上述|前者|后者|呢[？?]?$|\bit\b|\bits\b|\bthey\b"
    r"|\bthem\b|\bthis\b|\bthat\b|\bthese\b|\bthose\b)",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the conversation (pronouns, "…呢？", very short)."""
    return bool(_FOLLOW_UP_RE.search(question)) or len(question.strip()) <= 6


def in_context(question: str, earlier: Sequence[str]) -> str:
    """What to search for ``question``, asked after the questions ``earlier``, with no rewrite.

    A follow-up ("它有什么缺点？") names its subject only in the question before it,
    so it is searched together with that question; any other question as asked.
    """
    if earlier and is_follow_up(question):
        return f"{earlier[-1].strip()} {question.strip()}"
    return question
