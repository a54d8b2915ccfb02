"""A GGUF chat model run in-process by llama-cpp-python, behind LangChain's chat interface.

:class:`LlamaCppChatModel` streams token by token with the GGUF's own chat
template. A trailing :class:`AIMessage` is an answer prefill: the model
continues that text (which it does not repeat). The ``llama_cpp.Llama``
object loads on first use and is shared by every instance in the process
(keyed by path and context size); calls into it are serialized by a lock,
since one context serves one request at a time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
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

from rag.models.errors import LLMConfigError

if TYPE_CHECKING:
    from llama_cpp import Llama

logger = logging.getLogger(__name__)

LLAMA_CPP_PIP = "pip install llama-cpp-python==0.3.36"

_llama_cache: dict[tuple[str, int, int], tuple[Llama, threading.Lock]] = {}
_llama_cache_lock = threading.Lock()


def _get_llama_entry(
    model_path: Path, n_ctx: int, n_threads: int | None, prompt_lookup: int = 0
) -> tuple[Llama, threading.Lock]:
    key = (str(Path(model_path).resolve()), n_ctx, prompt_lookup)
    with _llama_cache_lock:
        entry = _llama_cache.get(key)
        if entry is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LLMConfigError(
                    f"LLM_PROVIDER=local needs llama-cpp-python; install it with: {LLAMA_CPP_PIP}"
                ) from exc
            threads = n_threads or os.cpu_count() or 1
            logger.info("loading %s (n_ctx=%d, %d threads)", key[0], n_ctx, threads)
            started = time.monotonic()
            draft = None
            if prompt_lookup:
                from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

                draft = LlamaPromptLookupDecoding(num_pred_tokens=prompt_lookup)
            llama = Llama(
                model_path=key[0],
                draft_model=draft,
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                # Fused attention evaluates prompts faster on CPU (README, "Scaling");
                # llama.cpp turns it off itself for a model that cannot use it.
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
    by the process (see the module docstring). Calls hold a per-model lock for the whole
    generation, so concurrent requests queue; closing a stream early releases it.
    """

    #: Continues a trailing assistant message (see :func:`rag.models.chat.supports_prefill`).
    supports_prefill: ClassVar[bool] = True
    #: Reuses the evaluated prefix of its last prompt, so a warm-up pays off.
    caches_prompt_prefix: ClassVar[bool] = True

    model_path: Path
    n_ctx: int = 4096
    n_threads: int | None = None
    max_tokens: int = 512
    temperature: float = 0.1
    top_p: float = 0.8
    repeat_penalty: float = 1.05
    seed: int | None = None
    #: Tokens proposed per step by prompt-lookup decoding (0: off).
    prompt_lookup: int = 0

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
        return _get_llama_entry(self.model_path, self.n_ctx, self.n_threads, self.prompt_lookup)[0]

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
        llama, lock = _get_llama_entry(
            self.model_path, self.n_ctx, self.n_threads, self.prompt_lookup
        )
        formatter = _chat_formatter(llama) if prefill else None
        if prefill and formatter is None:
            logger.warning("%s has no chat template: answer prefill ignored", llama.model_path)
        with lock:
            stream: Any  # llama-cpp's stream of completion (or chat completion) chunks
            if formatter is not None:
                stream = self._continue(llama, formatter, chat, prefill, params)
            else:
                stream = llama.create_chat_completion(
                    messages=chat,  # type: ignore[arg-type]
                    stream=True,
                    **params,
                )
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
    ) -> Any:
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
