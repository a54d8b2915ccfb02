"""End to end through the real path: e5 embeddings, Chroma on disk, the bundled local LLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTE = (
    "检索增强生成（RAG）先从知识库中检索与问题相关的文本片段，再把这些片段和问题一起交给大模型生成回答。"
    "RAG 可以减少大模型的幻觉，并让回答引用最新的资料。\n"
    "微调（fine-tuning）是在特定任务的数据集上继续训练模型参数，让模型适应新的领域。\n"
)


@pytest.mark.slow
def test_ask_answers_with_citation_using_bundled_models(tmp_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is installed by requirements.txt")
    data = tmp_path / "data"
    data.mkdir()
    (data / "rag.md").write_text("# RAG\n\n" + NOTE, encoding="utf-8")
    env = {
        **os.environ,
        "DATA_DIR": str(data),
        "VECTORSTORE_DIR": str(tmp_path / "vs"),
        "LLM_MAX_TOKENS": "96",
    }
    for key in ("EMBEDDING_BACKEND", "LLM_PROVIDER", "LOCAL_MODEL_PATH"):
        env.pop(key, None)
    ingest = subprocess.run(
        [sys.executable, "-m", "rag.ingest", "-q"], env=env, capture_output=True, text=True
    )
    assert ingest.returncode == 0, ingest.stderr
    ask = subprocess.run(
        [sys.executable, "-m", "rag.ask", "RAG 是怎么工作的？", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ask.returncode == 0, ask.stderr
    record = json.loads(ask.stdout)
    assert record["refused"] is False
    assert record["sources"][0]["source"] == "rag.md"
    assert record["sources"][0]["heading"] == "RAG"
    assert "检索" in record["answer"]
    assert "[1]" in record["answer"]
    assert record["timings_ms"]["generate"] > 0


@pytest.mark.slow
def test_english_question_is_translated_and_answered_in_english_locally(tmp_path, caplog):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is installed by requirements.txt")
    from rag.config import Settings
    from rag.ingest.pipeline import Ingestor
    from rag.services import NotesQA
    from rag.store.knowledge_base import KnowledgeBase
    from rag.text.language import detect_language

    data = tmp_path / "data"
    data.mkdir()
    rag_part, ft_part = NOTE.split("微调（fine-tuning）")
    (data / "rag.md").write_text("# RAG\n\n" + rag_part, encoding="utf-8")
    (data / "ft.md").write_text("# 微调\n\n微调（fine-tuning）" + ft_part, encoding="utf-8")
    settings = Settings(data_dir=data, vectorstore_dir=tmp_path / "vs", llm_max_tokens=60)
    kb = KnowledgeBase(settings)
    assert Ingestor(kb).ingest().ok
    caplog.set_level("INFO", logger="rag.answer.chain")
    record = NotesQA(kb).ask("How does fine-tuning adapt a model to a new domain?")
    translated = [r.getMessage() for r in caplog.records if r.getMessage().startswith("translated")]
    assert len(translated) == 1 and "微调" in translated[0]
    assert record["refused"] is False
    assert record["sources"][0]["source"] == "ft.md"
    answer = record["answer"]
    assert answer.startswith("According to your notes:"), answer
    assert detect_language(answer) == "en", answer
