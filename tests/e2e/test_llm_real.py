"""The bundled GGUF through llama-cpp-python: it streams, and it continues a prefilled answer."""

from __future__ import annotations

import importlib.util

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from rag.models.chat import build_llm, count_tokens, estimate_tokens
from rag.models.llama_cpp import LlamaCppChatModel
from tests.helpers import llm_settings


@pytest.mark.slow
def test_real_bundled_model_streams_an_answer() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install llama-cpp-python==0.3.36)")
    settings = llm_settings(llm_provider="local", llm_context_tokens=1024, llm_max_tokens=16)
    llm = build_llm(settings)
    assert isinstance(llm, LlamaCppChatModel)
    messages = [SystemMessage("用中文简短回答。"), HumanMessage("中国的首都是哪里？")]
    chunks = [chunk.content for chunk in llm.stream(messages)]
    text = "".join(chunks)
    assert text.strip(), chunks
    assert len([c for c in chunks if c]) >= 1
    tokens = count_tokens(llm, "梯度下降是一种优化算法。")
    assert 0 < tokens <= estimate_tokens("梯度下降是一种优化算法。")


@pytest.mark.slow
def test_real_bundled_model_continues_a_prefilled_answer() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install llama-cpp-python==0.3.36)")
    settings = llm_settings(
        llm_provider="local", llm_context_tokens=1024, llm_max_tokens=16, llm_temperature=0.0
    )
    llm = build_llm(settings)
    question = HumanMessage("What is the capital of France? Answer in one sentence.")
    plain = llm.invoke([question]).content
    continued = llm.invoke([question, AIMessage("Sure! The French capital city is called")])
    assert "Paris" in plain and "Paris" in continued.content
    assert continued.content.lstrip().startswith("Paris"), continued.content
    assert not plain.lstrip().startswith("Paris"), plain
