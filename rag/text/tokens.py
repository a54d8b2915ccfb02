"""Tokens for keyword search and word overlap: jieba words, lower-cased, without stopwords."""

from __future__ import annotations

import logging
import re
import threading

_WORD_RE = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)

#: Function words that carry no topic; kept short on purpose.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "有",
        "吗",
        "呢",
        "吧",
        "啊",
        "么",
        "什么",
        "怎么",
        "怎样",
        "如何",
        "为什么",
        "哪些",
        "哪个",
        "一个",
        "这个",
        "那个",
        "这些",
        "那些",
        "就是",
        "可以",
        "能",
        "会",
        "要",
        "也",
        "都",
        "还",
        "而",
        "被",
        "把",
        "对",
        "从",
        "中",
        "上",
        "下",
        "为",
        "以",
        "之",
        "其",
        "等",
        "请",
        "我",
        "你",
        "他",
        "它",
        "我们",
        "你们",
        "它们",
        "呀",
        "哪",
        "多少",
        "区别",
        "有什么",
        "是什么",
        "什么样",
        "时候",
        "进行",
        "通过",
        "使用",
        "用",
        "作用",
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "what",
        "which",
        "how",
        "why",
        "does",
        "do",
        "did",
        "for",
        "on",
        "with",
        "by",
        "as",
        "at",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "from",
        "can",
        "could",
        "should",
        "would",
        "about",
        "into",
        "than",
    ]
)

_jieba_lock = threading.Lock()
_jieba_ready = False


def tokenize(text: str) -> list[str]:
    """Tokenize Chinese/English text for BM25.

    Uses ``jieba.lcut_for_search`` (which also emits the sub-words of long
    words), lower-cases, and drops punctuation and stopwords.

    Args:
        text: Any text.

    Returns:
        The tokens, in order, with repeats.
    """
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    tokens = []
    for token in jieba.lcut_for_search(text.lower()):
        token = token.strip()
        if token and _WORD_RE.search(token) and token not in STOPWORDS:
            tokens.append(token)
    return tokens


#: jieba part-of-speech tags of nouns (common, proper, place, organisation, person).
_NOUN_TAGS = frozenset({"n", "nz", "ns", "nt", "nr", "nrt", "nrfg"})


def nouns(text: str) -> list[str]:
    """The nouns of ``text`` (jieba's part-of-speech tags), lower-cased, two characters or more."""
    import jieba.posseg

    tokenize("")  # jieba initialized once, quietly
    return [
        pair.word.lower()
        for pair in jieba.posseg.lcut(text)
        if pair.flag in _NOUN_TAGS and len(pair.word) >= 2
    ]
