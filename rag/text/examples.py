"""Example questions made from the notes' own headings, so each is one the notes answer.

A heading names what its section explains. :func:`heading_topic` takes the
last part of a heading path without its numbering and drops headings that name
no topic (set-up steps, references, asides, web addresses);
:func:`example_question` turns a topic into a question a student would ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUMBERING_RE = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百\d]+[章节部分篇]|\(?\d+(?:\.\d+)*\)?[.、．)]?)\s*"
)
_NOT_A_TOPIC_RE = re.compile(
    r"错误|安装|配置|收藏|图片|参考|引用|个人|理解|思考|展望|概览|扩展|附录|目录|其他|以下|来自|几个|"
    r"reference|http|www\.|\.(?:com|net|org|cn)\b|venv|\s-m\s",
    re.I,
)
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_LATIN_RE = re.compile(r"[A-Za-z]")
#: Topics that read as a thing ("注意力机制", "GPT-4") get "什么是…？".
_NOUN_END_RE = re.compile(
    r"(?:机制|模型|定律|能力|架构|框架|过程|算法|检索|插件|微调|嵌入|智能体|提示词|特点|概念|对齐|"
    r"训练|分词|解码|部署|注意力|编码|学习|模块|组件|工程|[A-Za-z0-9)）])$"
)
_DEFINITION_SUFFIXES = ("的概念", "的定义", "定义", "简介")
_QUESTION_START_RE = re.compile(r"^(?:如何|怎么|怎样|为什么|为何)")

MIN_TOPIC = 2
MAX_TOPIC = 16


def heading_topic(heading: str) -> str | None:
    """The topic a heading names, or None when it names none worth asking about."""
    leaf = heading.rsplit(" > ", 1)[-1]
    topic = _NUMBERING_RE.sub("", leaf).strip(" .、:：-—")
    if not MIN_TOPIC <= len(topic) <= MAX_TOPIC or _NOT_A_TOPIC_RE.search(topic):
        return None
    if not _CJK_RE.search(topic) and not _LATIN_RE.search(topic):
        return None
    return topic


def example_question(topic: str) -> str:
    """A question about ``topic`` in the notes' language (Chinese)."""
    original = topic
    for suffix in _DEFINITION_SUFFIXES:
        topic = topic.removesuffix(suffix)
    if _QUESTION_START_RE.match(topic):
        return f"{topic}？"
    if _NOUN_END_RE.search(topic) or topic != original:
        return f"什么是{topic}？"
    return f"讲讲{topic}"


def example_questions(headings: Iterable[tuple[str, str]], limit: int = 4) -> list[str]:
    """Up to ``limit`` questions from ``(source, heading)`` pairs, taking files in turn.

    Headings are taken in the order given (a note's own order); the first file
    gives the first question, the second file the next, and so on round the files.
    """
    by_source: dict[str, list[str]] = {}
    seen: set[str] = set()
    for source, heading in headings:
        topic = heading_topic(heading)
        question = example_question(topic) if topic else ""
        if question and question.lower() not in seen:
            seen.add(question.lower())
            by_source.setdefault(source, []).append(question)
    queues = [questions for _, questions in sorted(by_source.items())]
    out: list[str] = []
    while len(out) < limit and any(queues):
        for questions in queues:
            if questions and len(out) < limit:
                out.append(questions.pop(0))
    return out
