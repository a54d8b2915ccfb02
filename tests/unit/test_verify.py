"""The check of a finished answer: figures must stand in the passages each sentence cites."""

from __future__ import annotations

from rag.answer.verify import verify_answer

PASSAGES = ["GPT-3 有 1750 亿个参数。", "BERT 是谷歌在 2018 年提出的编码器模型。"]


def test_sentences_with_figures_their_passages_hold_are_kept():
    answer = "GPT-3 有 1750 亿个参数[1]。BERT 由谷歌在 2018 年提出[2]。"
    assert verify_answer(answer, PASSAGES, "GPT-3 和 BERT 是什么？").text == answer


def test_an_invented_figure_drops_its_sentence_and_only_that_one():
    answer = "1. GPT-3 有 1750 亿个参数[1]。\n2. 它在 MMLU 上得了 86 分[1]。"
    checked = verify_answer(answer, PASSAGES, "GPT-3 有多少参数？")
    assert checked.text == "1. GPT-3 有 1750 亿个参数[1]。"
    assert checked.dropped == (("2. 它在 MMLU 上得了 86 分[1]。", ("MMLU", "86")),)
    assert checked.emptied is False


def test_a_figure_must_be_in_the_passage_the_sentence_cites():
    checked = verify_answer("BERT 有 1750 亿个参数[2]。", PASSAGES, "BERT 有多少参数？")
    assert checked.dropped == (("BERT 有 1750 亿个参数[2]。", ("1750",)),)
    assert checked.emptied is True


def test_an_answer_left_with_no_substance_is_emptied():
    answer = "According to your notes:\n1. GPT-4 scored 86.4 on MMLU [1]."
    checked = verify_answer(answer, PASSAGES, "What did GPT-4 score on MMLU?")
    assert checked.emptied is True and checked.text == "According to your notes:"


def test_an_answer_of_labels_and_citations_only_is_emptied_a_short_one_is_not():
    question = "BERT 是谁提出的？"
    assert verify_answer("要点：[1] [2]", PASSAGES, question).emptied is True
    assert verify_answer("1. [2]", PASSAGES, question).emptied is True
    assert verify_answer("谷歌[2]。", PASSAGES, question).emptied is False
    assert verify_answer("Yes [1].", PASSAGES, "Is BERT an encoder?").emptied is False
