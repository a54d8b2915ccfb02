"""Chat models behind LangChain's :class:`BaseChatModel` interface.

:func:`build_llm` picks one by ``settings.llm_provider``:

* ``local`` (default): :class:`LlamaCppChatModel`, the bundled
  Qwen2.5-Coder-1.5B-Instruct GGUF (or ``settings.local_model_path``) run
  in-process by llama-cpp-python, streamed token by token. The GGUF's own chat
  template is used. A trailing :class:`AIMessage` is an answer prefill: the
  model continues that text (which it does not repeat). The
  ``llama_cpp.Llama`` object loads on first use and is shared by every
  instance in the process (keyed by path and context size);
  calls into it are serialized by a lock, since one context serves one request
  at a time.
* ``openai``: ``langchain_openai.ChatOpenAI`` against any OpenAI-compatible
  endpoint (OpenAI, Ollama, ``llama-server``, vLLM ...).
* ``fake``: :class:`FakeChatModel`, deterministic and instant, for tests.

:func:`count_tokens` counts tokens for any of them: exactly with the local
model's tokenizer, else with :func:`estimate_tokens` (no tiktoken, which would
need a download).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from rag.answer.prompts import TRANSLATE_MARKER

if TYPE_CHECKING:
    from llama_cpp import Llama

    from rag.config import Settings

logger = logging.getLogger(__name__)

LLAMA_CPP_PIP = "pip install llama-cpp-python==0.3.36"

_CJK_RE = re.compile(
    r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf"
    r"\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]"
)

_llama_cache: dict[tuple[str, int], tuple[Llama, threading.Lock]] = {}
_llama_cache_lock = threading.Lock()


class LLMConfigError(ValueError):
    """The LLM settings cannot work (missing file, missing key ...)."""


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


def get_llama(model_path: Path, n_ctx: int, n_threads: int | None = None) -> Llama:
    """Load a GGUF with llama-cpp-python once per process.

    Args:
        model_path: The GGUF file.
        n_ctx: Context window in tokens.
        n_threads: CPU threads (default: ``os.cpu_count()``); only used by the
            first load of a given path and context size.

    Returns:
        The shared ``llama_cpp.Llama``.

    Raises:
        LLMConfigError: If llama-cpp-python is not installed.
    """
    return _get_llama_entry(model_path, n_ctx, n_threads)[0]


def _get_llama_entry(
    model_path: Path, n_ctx: int, n_threads: int | None
) -> tuple[Llama, threading.Lock]:
    key = (str(Path(model_path).resolve()), n_ctx)
    with _llama_cache_lock:
        entry = _llama_cache.get(key)
        if entry is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LLMConfigError(
                    f"LLM_PROVIDER=local needs llama-cpp-python; install it with: {LLAMA_CPP_PIP}"
                ) from exc
            import time

            threads = n_threads or os.cpu_count() or 1
            logger.info("loading %s (n_ctx=%d, %d threads)", key[0], n_ctx, threads)
            started = time.monotonic()
            llama = Llama(
                model_path=key[0],
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                # Fused attention: prompts evaluate ~8 % faster on 2 CPU cores
                # (73 -> 79 tok/s for 655 tokens); llama.cpp turns it off itself
                # for a model that cannot use it.
                flash_attn=True,
                verbose=False,
            )
            logger.info("loaded the model in %.1f s", time.monotonic() - started)
            entry = (llama, threading.Lock())
            _llama_cache[key] = entry
        return entry


def _chat_formatter(llama: Llama) -> Any:
    """The GGUF's own chat template as a llama-cpp formatter, or None if it has none.

    Built the way ``llama_cpp.Llama`` builds its default chat handler, so a
    prompt rendered here is the one ``create_chat_completion`` would evaluate.
    Compiling the template takes milliseconds, next to seconds of generation.
    """
    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos, bos = llama.token_eos(), llama.token_bos()
    return Jinja2ChatFormatter(
        template=template,
        eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
    )


def _role_and_text(message: BaseMessage) -> tuple[str, str]:
    """Map a LangChain message to an OpenAI-style role and its plain text."""
    if isinstance(message, SystemMessage):
        role = "system"
    elif isinstance(message, HumanMessage):
        role = "user"
    elif isinstance(message, AIMessage):
        role = "assistant"
    elif isinstance(message, ChatMessage):
        role = message.role
    else:
        raise ValueError(f"unsupported message type for this chat model: {message.type}")
    return role, message.text


class LlamaCppChatModel(BaseChatModel):
    """A GGUF chat model run in-process by llama-cpp-python, streamed token by token.

    The model file is loaded on the first call (not at construction) and shared
    through :func:`get_llama`. Calls hold a per-model lock for the whole
    generation, so concurrent requests queue; closing a stream early releases it.
    """

    model_path: Path
    n_ctx: int = 4096
    n_threads: int | None = None
    max_tokens: int = 512
    temperature: float = 0.1
    top_p: float = 0.8
    repeat_penalty: float = 1.05
    seed: int | None = None

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": str(self.model_path),
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
        }

    @property
    def client(self) -> Llama:
        """The shared ``llama_cpp.Llama`` (loads it on first access)."""
        return _get_llama_entry(self.model_path, self.n_ctx, self.n_threads)[0]

    def count_tokens(self, text: str) -> int:
        """Count tokens with the model's own tokenizer (loads the model if needed).

        Args:
            text: Plain text (special tokens are not parsed).

        Returns:
            The number of tokens, without a BOS token.
        """
        if not text:
            return 0
        return len(self.client.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def get_num_tokens(self, text: str) -> int:
        """Same as :meth:`count_tokens` (LangChain's name for it)."""
        return self.count_tokens(text)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        prefill = ""
        if messages and isinstance(messages[-1], AIMessage):
            prefill, messages = messages[-1].text, messages[:-1]
        chat = [{"role": role, "content": text} for role, text in map(_role_and_text, messages)]
        params = {
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
            "temperature": kwargs.pop("temperature", self.temperature),
            "top_p": kwargs.pop("top_p", self.top_p),
            "repeat_penalty": kwargs.pop("repeat_penalty", self.repeat_penalty),
            "seed": kwargs.pop("seed", self.seed),
            "stop": stop or [],
        }
        if kwargs:
            logger.debug("ignoring unsupported call options: %s", sorted(kwargs))
        llama, lock = _get_llama_entry(self.model_path, self.n_ctx, self.n_threads)
        formatter = _chat_formatter(llama) if prefill else None
        if prefill and formatter is None:
            logger.warning("%s has no chat template: answer prefill ignored", llama.model_path)
        with lock:
            if formatter is not None:
                stream = self._continue(llama, formatter, chat, prefill, params)
            else:
                stream = llama.create_chat_completion(messages=chat, stream=True, **params)
            try:
                for part in stream:
                    choice = part["choices"][0]
                    text = choice.get("text") or choice.get("delta", {}).get("content") or ""
                    if text:
                        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                        if run_manager is not None:
                            run_manager.on_llm_new_token(text, chunk=chunk)
                        yield chunk
                    finish = choice.get("finish_reason")
                    if finish:
                        meta = {"finish_reason": finish, "model_name": self.model_path.name}
                        yield ChatGenerationChunk(
                            message=AIMessageChunk(content="", response_metadata=meta),
                            generation_info={"finish_reason": finish},
                        )
            finally:
                stream.close()

    @staticmethod
    def _continue(
        llama: Llama,
        formatter: Any,
        chat: list[dict[str, str]],
        prefill: str,
        params: dict[str, Any],
    ) -> Iterator[dict[str, Any]]:
        """Stream a completion of the rendered chat followed by the assistant's ``prefill``."""
        rendered = formatter(messages=chat)
        prompt = llama.tokenize(
            (rendered.prompt + prefill).encode("utf-8"),
            add_bos=not rendered.added_special,
            special=True,
        )
        extra_stop = [rendered.stop] if isinstance(rendered.stop, str) else rendered.stop or []
        return llama.create_completion(
            prompt,
            stream=True,
            stopping_criteria=rendered.stopping_criteria,
            **{**params, "stop": params["stop"] + list(extra_stop)},
        )


_PASSAGE_ONE_RE = re.compile(r"^[ \t]*\[1\][ \t:：.、]*(.*?)(?=^[ \t]*\[\d+\]|\Z)", re.S | re.M)
_SENTENCE_RE = re.compile(r"[^。！？!?\n]*[。！？!?]?")


class FakeChatModel(BaseChatModel):
    """A deterministic chat model for tests, answering from the prompt.

    Behaviour:

    * With ``responses``, call *n* answers ``responses[n % len(responses)]``.
    * Otherwise it searches the messages from the last one backwards (system and
      human messages only) for a line starting with ``[1]``; the text after the
      marker up to the next ``[k]`` line is passage 1, and the answer is
      ``"根据笔记[1]：" + <its first sentence>`` (up to and including the first
      ``。！？!?``, or the end of its first line).
    * Without any ``[1]`` passage it answers :attr:`NO_CONTEXT_ANSWER`.
    * Asked to translate a question (:data:`rag.answer.prompts.TRANSLATE_HUMAN`), it
      answers ``translations[question]``, or nothing for an unknown question.

    The answer streams in chunks of ``chunk_chars`` characters (one by default),
    so ``"".join(stream)`` equals ``invoke(...).content``.
    """

    NO_CONTEXT_ANSWER: ClassVar[str] = "笔记中没有找到相关内容。"
    ANSWER_PREFIX: ClassVar[str] = "根据笔记[1]："

    responses: list[str] | None = None
    translations: dict[str, str] = Field(default_factory=dict)
    chunk_chars: int = Field(1, ge=1)
    _calls: int = PrivateAttr(0)
    _calls_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "fake-notes-chat"

    def count_tokens(self, text: str) -> int:
        """Estimate tokens with :func:`estimate_tokens`.

        Args:
            text: Any string.

        Returns:
            The estimate.
        """
        return estimate_tokens(text)

    def get_num_tokens(self, text: str) -> int:
        """Same as :meth:`count_tokens`."""
        return self.count_tokens(text)

    def answer_for(self, messages: list[BaseMessage]) -> str:
        """The full answer this model gives to ``messages`` (ignores ``responses``).

        Args:
            messages: The prompt messages.

        Returns:
            The grounded answer or :attr:`NO_CONTEXT_ANSWER`.
        """
        last = messages[-1].text if messages else ""
        if TRANSLATE_MARKER in last:
            question = last.split(TRANSLATE_MARKER, 1)[1].split("\n", 1)[0]
            return self.translations.get(question, "")
        for message in reversed(messages):
            if not isinstance(message, (SystemMessage, HumanMessage)):
                continue
            match = _PASSAGE_ONE_RE.search(message.text)
            if match is None:
                continue
            passage = match.group(1).strip()
            sentence = (_SENTENCE_RE.match(passage).group(0) or passage).strip()
            return self.ANSWER_PREFIX + sentence
        return self.NO_CONTEXT_ANSWER

    def _next_answer(self, messages: list[BaseMessage]) -> str:
        with self._calls_lock:
            index = self._calls
            self._calls += 1
        if self.responses:
            return self.responses[index % len(self.responses)]
        return self.answer_for(messages)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        answer = self._next_answer(messages)
        for start in range(0, len(answer), self.chunk_chars):
            text = answer[start : start + self.chunk_chars]
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager is not None:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="", response_metadata={"finish_reason": "stop", "model_name": "fake"}
            ),
            generation_info={"finish_reason": "stop"},
        )


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

    For ``local`` this resolves (and on first run assembles, about 6 s) the GGUF
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
        return LlamaCppChatModel(
            model_path=path,
            n_ctx=settings.llm_context_tokens,
            n_threads=settings.llm_threads or os.cpu_count() or 1,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
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
            max_tokens=settings.llm_max_tokens,
            streaming=True,
        )
    if provider == "fake":
        logger.info("LLM: fake chat model")
        return FakeChatModel()
    raise LLMConfigError(f"unknown LLM_PROVIDER {provider!r}")
