"""Chat models: the factory that settings choose from, token counting, capabilities.

:func:`build_llm` picks one by ``settings.llm_provider``:

* ``local`` (default): :class:`~rag.models.llama_cpp.LlamaCppChatModel`, the
  bundled Qwen2.5-Coder-1.5B-Instruct GGUF (or ``settings.local_model_path``)
  run in-process by llama-cpp-python;
* ``openai``: ``langchain_openai.ChatOpenAI`` against any OpenAI-compatible
  endpoint (OpenAI, Ollama, ``llama-server``, vLLM ...);
* ``fake``: :class:`~rag.models.fakes.FakeChatModel`, deterministic and instant.

:func:`count_tokens` counts tokens for any of them: exactly with the local
model's tokenizer, else with :func:`estimate_tokens` (no tiktoken, which would
need a download). :func:`supports_prefill` and :func:`caches_prompt_prefix`
tell the answer chain what a model can do, without naming its class.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from rag.models.errors import LLMConfigError

if TYPE_CHECKING:
    from rag.config import Settings

logger = logging.getLogger(__name__)

_CJK_RE = re.compile(
    r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf"
    r"\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]"
)


def estimate_tokens(text: str) -> int:
    """Estimate a token count without a tokenizer.

    CJK characters (and full-width punctuation) count one token each, other text
    one token per 4 characters, rounded up. This overestimates for Qwen-style
    tokenizers (about 0.6 tokens per Chinese character), which is the safe side
    when trimming a prompt.

    Args:
        text: Any string.

    Returns:
        The estimated number of tokens.
    """
    cjk = len(_CJK_RE.findall(text))
    other = len(text) - cjk
    return cjk + (other + 3) // 4


def count_tokens(llm: BaseChatModel, text: str) -> int:
    """Count the tokens of ``text`` for a chat model.

    Uses the model's own ``count_tokens`` when it has one (local and fake
    models), else :func:`estimate_tokens` (e.g. ``ChatOpenAI``).

    Args:
        llm: A model from :func:`build_llm`.
        text: The text to measure.

    Returns:
        Number of tokens (exact for the local model, estimated otherwise).
    """
    counter = getattr(llm, "count_tokens", None)
    if callable(counter):
        return int(counter(text))
    return estimate_tokens(text)


def supports_prefill(llm: BaseChatModel) -> bool:
    """Whether ``llm`` continues a trailing assistant message (an answer prefill).

    An OpenAI-style server may answer it anew instead, so only models that say
    so (``supports_prefill = True`` on the class) are given one.
    """
    return bool(getattr(llm, "supports_prefill", False))


def caches_prompt_prefix(llm: BaseChatModel) -> bool:
    """Whether ``llm`` reuses the evaluated prefix of its last prompt (worth a warm-up).

    A remote server keeps its own cache, so a warm-up request would be wasted on it.
    """
    return bool(getattr(llm, "caches_prompt_prefix", False))


def resolve_local_model_path(settings: Settings) -> Path:
    """The GGUF the local provider uses, assembling the bundled one if needed.

    Args:
        settings: App settings (``local_model_path``, ``model_cache_dir``).

    Returns:
        ``settings.local_model_path`` if set, else the bundled model in
        ``settings.model_cache_dir``.

    Raises:
        LLMConfigError: If ``local_model_path`` is set but is not a file.
        rag.models.bundled.ModelAssetError: If the bundled model cannot be assembled.
    """
    if settings.local_model_path is not None:
        if not settings.local_model_path.is_file():
            raise LLMConfigError(
                f"LOCAL_MODEL_PATH={settings.local_model_path} is not a file (expected a GGUF)"
            )
        return settings.local_model_path
    from rag.models.bundled import ensure_bundled_model

    return ensure_bundled_model(settings.model_cache_dir)


def build_llm(settings: Settings) -> BaseChatModel:
    """Create the chat model chosen by ``settings.llm_provider``.

    For ``local`` this resolves (and on first run assembles) the GGUF
    but does not load it: loading happens on the first call.

    Args:
        settings: App settings.

    Returns:
        A streaming LangChain chat model.

    Raises:
        LLMConfigError: If the settings cannot work for the chosen provider.
        rag.models.bundled.ModelAssetError: If the bundled model cannot be assembled.
    """
    provider = settings.llm_provider
    if provider == "local":
        path = resolve_local_model_path(settings)
        logger.info("LLM: local llama.cpp model %s", path)
        from rag.models.llama_cpp import LlamaCppChatModel

        return LlamaCppChatModel(
            model_path=path,
            n_ctx=settings.llm_context_tokens,
            n_threads=settings.llm_threads or os.cpu_count() or 1,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            prompt_lookup=settings.llm_prompt_lookup,
        )
    if provider == "openai":
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        api_key = settings.openai_api_key
        if api_key is None or not api_key.get_secret_value():
            if not settings.openai_base_url:
                raise LLMConfigError(
                    "LLM_PROVIDER=openai needs OPENAI_API_KEY, or OPENAI_BASE_URL for a "
                    "server that needs no key (Ollama, llama-server ...)"
                )
            api_key = SecretStr("not-needed")
        logger.info(
            "LLM: OpenAI-compatible model %s at %s",
            settings.openai_model,
            settings.openai_base_url or "the default OpenAI endpoint",
        )
        return ChatOpenAI(
            base_url=settings.openai_base_url,
            api_key=api_key,
            model=settings.openai_model,
            temperature=settings.llm_temperature,
            max_completion_tokens=settings.llm_max_tokens,
            streaming=True,
        )
    if provider == "fake":
        logger.info("LLM: fake chat model")
        from rag.models.fakes import FakeChatModel

        return FakeChatModel()
    raise LLMConfigError(f"unknown LLM_PROVIDER {provider!r}")
