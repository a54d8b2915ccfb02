"""The questions a new user asked in the browser, on the real notes with the real e5.

The chat model is scripted here (answers as a small model did); the same three
go through the real local model in ``tests/e2e/test_trust_llm.py``.
"""

from __future__ import annotations

import pytest

from rag.answer.chain import Answerer
from rag.models.fakes import FakeChatModel
from rag.retrieval.hybrid import HybridRetriever
from rag.services import NotesQA
from rag.store.knowledge_base import KnowledgeBase

pytestmark = pytest.mark.slow


def answerer(kb: KnowledgeBase, reply: str | None = None) -> Answerer:
    llm = FakeChatModel(responses=[reply]) if reply else FakeChatModel()
    return Answerer.from_settings(kb.settings, HybridRetriever.from_kb(kb), llm=llm)


def test_the_comparison_question_retrieves_the_comparison_table(notes_kb):
    docs = HybridRetriever.from_kb(notes_kb).search("RAG 和微调有什么区别？")
    assert docs[0].metadata.get("table") is True
    assert docs[0].page_content.startswith("RAG 和 微调的对比可以参考下表（特征比较 | RAG | 微调）")
    # The table's next rows rank close behind: they are part of the same passage.
    assert len(docs[0].metadata["chunk_ids"].split(",")) == 2
    assert "知识更新" in docs[0].page_content and "可解释性" in docs[0].page_content


def test_an_invented_benchmark_score_is_refused(notes_kb):
    result = answerer(notes_kb, "GPT-4在MMLU上的得分为100分[1]。").answer(
        "GPT-4 在 MMLU 上得了多少分？"
    )
    assert result.refused is True
    assert result.text.startswith("笔记中没有找到相关内容")
    assert "100" not in result.text
    assert result.docs  # the nearest passages are still shown


def test_a_follow_up_without_the_chat_model_is_searched_with_the_question_before_it(notes_kb):
    service = NotesQA(notes_kb, answerer(notes_kb))
    alone = service.retrieve("它有什么缺点？")
    followed = service.retrieve("它有什么缺点？", earlier=["什么是 RAG？"])
    assert not any("RAG" in d.page_content for d in alone[:1])
    assert "RAG" in followed[0].page_content


def test_the_chain_of_thought_question_is_answered(notes_kb):
    events = list(answerer(notes_kb).stream("什么是思维链？"))
    sources, done = events[0], events[-1]
    assert sources.refused is False and done.refused is False
    assert any("思维链" in d.page_content for d in sources.docs[:3])
    assert done.cited == [1]


def test_every_example_question_from_the_headings_is_answered(notes_kb):
    service = NotesQA(notes_kb, answerer(notes_kb))
    examples = service.example_questions()
    assert len(examples) == 4
    assert examples[0] == "什么是LLM？"
    assert [service.ask(q)["refused"] for q in examples] == [False] * 4


def test_an_english_question_finds_its_chinese_passage_through_the_dictionary(notes_kb):
    # No glossary entry says "negative"; CC-CEDICT gives 负面, which the notes use.
    docs = HybridRetriever.from_kb(notes_kb).search("What is negative prompting?")
    assert "负面提示是指通过指定不希望在输出中看到的内容来引导模型" in docs[0].page_content


def test_an_english_question_for_a_figure_the_notes_lack_is_refused_before_the_llm(notes_kb):
    # The notes give GPT-3's release date and other models' sizes, never its parameters
    # (参数): the Chinese for what the question asks must stand beside GPT-3.
    events = list(answerer(notes_kb).stream("How many parameters does GPT-3 have?"))
    assert events[0].kind == "sources" and events[0].refused is True
    assert events[0].support is not None
    assert events[0].support.reason == "value_not_in_notes"
    assert events[0].support.missing == ("How many parameters does GPT-3 have",)
