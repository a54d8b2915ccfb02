"""A follow-up is searched together with the question before it when no chat model rewrites it."""

from __future__ import annotations

from rag.text.followup import in_context, is_follow_up


def test_a_follow_up_is_searched_with_the_question_before_it():
    assert (
        in_context("它有什么缺点？", ["什么是 LoRA？", "RAG 是什么？"])
        == "RAG 是什么？ 它有什么缺点？"
    )


def test_a_question_that_names_its_subject_is_searched_as_asked():
    assert in_context("微调需要多少数据？", ["RAG 是什么？"]) == "微调需要多少数据？"


def test_a_first_question_is_searched_as_asked():
    assert in_context("它有什么缺点？", []) == "它有什么缺点？"


def test_pronouns_and_short_questions_are_follow_ups():
    assert [is_follow_up(q) for q in ("How does it work?", "缺点呢？", "RAG 是什么？")] == [
        True,
        True,
        False,
    ]
