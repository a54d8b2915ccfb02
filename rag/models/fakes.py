"""Deterministic stand-ins for the models (tests, and the ``fake`` backend and provider).

Both are real subclasses of the LangChain interfaces, so everything above
the models layer runs unchanged on them, instantly and without model files.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from rag.models.chat import estimate_tokens


class FakeEmbeddings(Embeddings):
    """Deterministic embeddings from hashed character n-grams, for tests.

    Texts that share characters get similar vectors, so retrieval in tests
    behaves sensibly without loading a model.
    """

    model_id = "fake/hashing-64"

    def __init__(self, dim: int = 64) -> None:
        """Create the fake.

        Args:
            dim: Vector size.
        """
        self.dim = dim
        self.calls = 0

    def _embed(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        grams = [text[i : i + 2] for i in range(max(len(text) - 1, 1))]
        for gram in grams:
            digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=4).digest()
            vec[int.from_bytes(digest, "little") % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts; counts calls in ``calls``."""
        self.calls += 1
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a question."""
        return self._embed(text)


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
    #: The line prefix that carries the question in a translation request
    #: (:data:`rag.answer.prompts.TRANSLATE_MARKER`; a unit test keeps them equal).
    translate_marker: str = "English question: "
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
        marker = self.translate_marker
        if marker and marker in last:
            question = last.split(marker, 1)[1].split("\n", 1)[0]
            return self.translations.get(question, "")
        for message in reversed(messages):
            if not isinstance(message, (SystemMessage, HumanMessage)):
                continue
            match = _PASSAGE_ONE_RE.search(message.text)
            if match is None:
                continue
            passage = match.group(1).strip()
            first = _SENTENCE_RE.match(passage)  # always matches: every part is optional
            sentence = ((first.group(0) if first else "") or passage).strip()
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
