"""Language detection for questions (Chinese or English), by script share."""

from __future__ import annotations

import re

_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
#: CJK unified ideographs and extension A (the compatibility block left out).
_CHINESE_RE = re.compile(r"[\u3400-\u9fff]")


def has_chinese(text: str) -> bool:
    """Whether ``text`` contains at least one Chinese character.

    Args:
        text: Any string.

    Returns:
        True when a CJK unified ideograph (basic block or extension A) occurs.
    """
    return _CHINESE_RE.search(text) is not None


def detect_language(text: str) -> str:
    """``"zh"`` when the text has Chinese characters in good share, else ``"en"``.

    A Chinese question full of English terms ("RAG 和 fine-tuning 的区别") is
    Chinese: one CJK character counts as much as one English word.

    Args:
        text: A question.

    Returns:
        ``"zh"`` or ``"en"``.
    """
    cjk = len(_CJK_RE.findall(text))
    words = len(re.findall(r"[A-Za-z]+", text))
    return "zh" if cjk and cjk >= words else "en"
