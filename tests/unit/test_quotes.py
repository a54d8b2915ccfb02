"""The opening quotation of a Chinese answer, checked against the passages."""

from __future__ import annotations

from rag.answer.quotes import check_quote

PASSAGES = [
    "微调是在特定数据集上继续训练模型的参数。微调需要标注数据和训练算力。",
    "检索增强生成先从知识库中检索相关片段, 再交给大模型生成回答。",
]
QUESTION = "检索增强生成是怎么工作的？"


def test_a_word_for_word_quote_is_kept_and_cited_by_its_passage():
    answer = "笔记原文：“检索增强生成先从知识库中检索相关片段，再交给大模型生成回答。”[1]\n先检索，再生成。"
    assert check_quote(answer, PASSAGES, QUESTION) == (
        "笔记原文：“检索增强生成先从知识库中检索相关片段，再交给大模型生成回答。”[2]\n\n先检索，再生成。"
    )


def test_a_paraphrase_is_not_presented_as_the_notes_words():
    answer = "笔记原文：“检索增强生成会先查资料再回答。”[2]；它分两步。"
    assert (
        check_quote(answer, PASSAGES, QUESTION)
        == "要点：检索增强生成会先查资料再回答。[2]\n\n它分两步。"
    )


def test_a_quote_of_the_question_is_dropped():
    answer = "笔记原文：“检索增强生成是怎么工作的？”[1]\n\n先检索，再生成[2]。"
    assert check_quote(answer, PASSAGES, QUESTION) == "先检索，再生成[2]。"


def test_an_answer_without_a_quote_is_unchanged():
    answer = "检索增强生成先检索相关片段[2]。"
    assert check_quote(answer, PASSAGES, QUESTION) == answer


def test_quotation_marks_inside_the_quote_do_not_end_it():
    passages = ["思维链提示要求模型遵循多步,比如“让我们逐步思考”。这会改善推理表现。"]
    answer = "笔记原文：“思维链提示要求模型遵循多步，比如“让我们逐步思考”。这会改善推理表现。”[1]"
    assert check_quote(answer, passages, "什么是思维链？") == answer


def test_an_unclosed_quote_ends_with_its_line():
    answer = "笔记原文：“检索增强生成会先查资料\n1. 再生成回答。"
    assert (
        check_quote(answer, PASSAGES, QUESTION) == "要点：检索增强生成会先查资料\n\n1. 再生成回答。"
    )
