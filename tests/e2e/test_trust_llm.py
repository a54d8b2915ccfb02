"""The browser's three questions through the real local model, on the real notes."""

from __future__ import annotations

import re
import shutil

import pytest

from rag.config import Settings
from rag.services import NotesQA
from rag.text.language import detect_language
from tests.helpers import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("notes")
    shutil.copytree(ROOT / "data", root / "data")
    qa = NotesQA.from_settings(
        Settings(data_dir=root / "data", vectorstore_dir=root / "store", llm_provider="local")
    )
    assert qa.ingest().ok
    yield qa
    qa.kb.record_manager.close()


def test_comparison_answer_draws_on_the_table(service):
    record = service.ask("RAG 和微调有什么区别？")
    assert record["refused"] is False
    assert record["sources"][0]["text"].startswith("RAG 和 微调的对比可以参考下表")
    assert "[1]" in record["answer"] or "[2]" in record["answer"]


def test_benchmark_score_the_notes_do_not_give_is_refused(service):
    record = service.ask("GPT-4 在 MMLU 上得了多少分？")
    assert record["refused"] is True
    assert record["answer"].startswith("笔记中没有找到相关内容")


def test_chain_of_thought_is_answered_from_the_notes(service):
    record = service.ask("什么是思维链？")
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", record["answer"])}
    assert record["refused"] is False
    assert "推理步骤" in record["answer"]
    assert any("思维链" in record["sources"][n - 1]["text"] for n in cited)


def test_an_english_question_gets_an_english_answer(service):
    record = service.ask("What is chain-of-thought prompting and why does it help?")
    assert record["refused"] is False
    assert detect_language(record["answer"]) == "en"
