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

#: Longest run of word characters handed to jieba in one piece. jieba's HMM pass over a
#: run of unknown characters copies its path at every step, which is quadratic in the
#: run; notes never have runs this long without punctuation, a flood of "注" does.
MAX_RUN = 100
# The characters jieba itself keeps together (its ``re_han_default``); anything else
# already splits its input, so cutting only inside longer runs changes no normal text.
_LONG_RUN_RE = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]{" + str(MAX_RUN + 1) + ",}")


def bounded_runs(text: str) -> str:
    """``text`` with a space inside every run of word characters longer than :data:`MAX_RUN`.

    Keeps tokenizing linear in the length of the input.
    """

    def cut(match: re.Match[str]) -> str:
        run = match.group()
        return " ".join(run[i : i + MAX_RUN] for i in range(0, len(run), MAX_RUN))

    return _LONG_RUN_RE.sub(cut, text)


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
    for token in jieba.lcut_for_search(bounded_runs(text.lower())):
        token = token.strip()
        if token and _WORD_RE.search(token) and token not in STOPWORDS:
            tokens.append(token)
    return tokens


#: jieba part-of-speech tags of nouns (common, proper, place, organisation, person).
_NOUN_TAGS = frozenset({"n", "nz", "ns", "nt", "nr", "nrt", "nrfg"})


def _tagged(text: str, tags: frozenset[str]) -> list[str]:
    """Words of ``text`` of two characters or more that jieba tags with one of ``tags``."""
    import jieba.posseg

    tokenize("")  # jieba initialized once, quietly
    return [
        pair.word
        for pair in jieba.posseg.lcut(bounded_runs(text))
        if pair.flag in tags and len(pair.word) >= 2
    ]


def nouns(text: str) -> list[str]:
    """The nouns of ``text`` (jieba's part-of-speech tags), lower-cased, two characters or more."""
    return [word.lower() for word in _tagged(text, _NOUN_TAGS)]


_NAME_TAGS = frozenset({"nr", "nt", "nz", "ns", "nrt", "nrfg"})


def proper_names(text: str) -> list[str]:
    """Words of ``text`` that jieba tags as names (people, organisations, places, others).

    Latin-script words are left out: :func:`rag.answer.facts.figures` reads those.
    """
    return [word for word in _tagged(text, _NAME_TAGS) if not word.isascii()]
