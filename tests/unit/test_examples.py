"""Example questions come from the notes' headings."""

from __future__ import annotations

import pytest

from rag.text.examples import example_question, example_questions, heading_topic


@pytest.mark.parametrize(
    ("heading", "topic"),
    [
        ("1.1.1 LLM的概念", "LLM的概念"),
        ("第一章 大模型简介 > 检索增强生成RAG", "检索增强生成RAG"),
        ("(1).LangChain是个啥", "LangChain是个啥"),
        ("3. 未来展望 > Reference", None),
        ("1.3.2 LangChain的核心组件 > python -m venv .venv", None),
        ("pub.towardsai.net", None),
        ("(4).IO 模块 > 在这里插入图片描述", None),
        ("一", None),
    ],
)
def test_a_heading_names_a_topic_or_none(heading, topic):
    assert heading_topic(heading) == topic


@pytest.mark.parametrize(
    ("topic", "question"),
    [
        ("LLM的概念", "什么是LLM？"),
        ("注意力机制", "什么是注意力机制？"),
        ("GPT-4", "什么是GPT-4？"),
        ("如何在本地计算机上运行LLM", "如何在本地计算机上运行LLM？"),
        ("改善提示效果", "讲讲改善提示效果"),
    ],
)
def test_a_topic_becomes_a_question(topic, question):
    assert example_question(topic) == question


def test_examples_take_the_notes_in_turn_without_repeats():
    headings = [
        ("a.md", "注意力机制"),
        ("a.md", "注意力机制"),
        ("a.md", "多头注意力 > 参考"),
        ("a.md", "如何训练"),
        ("b.txt", "GPT定义"),
        ("b.txt", "GPT"),
    ]
    assert example_questions(headings, limit=3) == [
        "什么是注意力机制？",
        "什么是GPT？",
        "如何训练？",
    ]
