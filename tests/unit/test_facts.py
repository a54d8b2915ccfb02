"""Figures in answers: numbers and Latin-script names, and whether the passages hold them."""

from __future__ import annotations

from rag.answer.facts import figures, unsupported_figures


def test_chinese_answer_figures_are_numbers_and_every_latin_word():
    answer = "GPT-4在MMLU上的得分为100分[1]。\n2. 大约有 400 亿个单词"
    assert figures(answer) == ["GPT-4", "MMLU", "100", "400"]


def test_english_answer_figures_are_words_written_like_names():
    answer = (
        "According to your notes:\n1. Retrieval finds passages (检索) [1].\n"
        "2. The model GPT-3 was trained by OpenAI in 2020, says the Transformer paper."
    )
    assert figures(answer) == ["GPT-3", "OpenAI", "Transformer", "2020"]


def test_unsupported_figures_ignore_case_spaces_separators_and_the_question():
    passages = ["GPT-3 有 1,750 亿个参数，由 openai 训练。"]
    answer = "GPT-3 有 1750 亿参数，由 OpenAI 在 2020 年训练，用于 MMLU。"
    assert unsupported_figures(answer, passages, question="GPT-3 在 MMLU 上表现如何？") == ["2020"]


def test_list_labels_inside_a_quote_and_in_parentheses_are_not_figures():
    answer = "笔记原文：“7.大模型MOE是一种设计策略”[2]\nRAG的概念图(1)显示了（2）3.5 倍"
    assert figures(answer) == ["MOE", "RAG", "3.5"]
