"""The prompt's evidence: the best sentences of the leading passages within the budget."""

from __future__ import annotations

from rag.answer.excerpts import GAP, select_excerpts


def count(text: str) -> int:
    return len(text)


def test_best_sentences_fill_the_budget_in_their_own_order():
    sentences = [["甲一。", "甲二。", "甲三。"], ["乙一。", "乙二。"]]
    scores = [[0.9, 0.2, 0.8], [0.1, 0.85]]
    # Budget: label 12 + 3 chars per sentence (+2 for a further one); three sentences fit.
    excerpts = select_excerpts(sentences, scores, 12 * 2 + 3 * 3 + 2, count)
    assert excerpts == [f"甲一。{GAP}甲三。", "乙二。"]


def test_each_passage_pays_for_its_own_label():
    sentences = [["甲一。", "甲二。"], ["乙一。"]]
    scores = [[0.9, 0.8], [0.85]]
    # The second passage's long label costs more than the first passage's next sentence.
    excerpts = select_excerpts(sentences, scores, 5 + 3 + 2 + 3, count, labels=[5, 30])
    assert excerpts == ["甲一。甲二。", None]


def test_a_passage_with_no_chosen_sentence_is_left_out():
    excerpts = select_excerpts([["甲一。"], ["乙一。"]], [[0.9], [0.5]], 12 + 3, count)
    assert excerpts == ["甲一。", None]


def test_lower_ranked_passages_pay_a_small_penalty():
    excerpts = select_excerpts([["甲。"], ["乙。"]], [[0.80], [0.805]], 12 + 2, count)
    assert excerpts == ["甲。", None]  # 0.805 - 0.01 < 0.80
