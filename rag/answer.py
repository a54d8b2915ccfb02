"""The answer chain: rewrite a follow-up, retrieve, check support, stream a cited answer.

Built from LCEL pieces of langchain-core (``prompt | llm | StrOutputParser``)
and orchestrated by :meth:`Answerer.stream`, which yields events so that a UI
can show the sources as soon as retrieval finishes and then the answer token
by token:

* ``AnswerEvent("sources", docs=..., refused=..., question=...)`` first;
* ``AnswerEvent("token", text=...)`` for each piece of the answer;
* ``AnswerEvent("done", text=full_answer, refused=..., cited=[...])`` last.

When the passages do not support an answer (see :mod:`rag.support`), the
refusal message is the whole answer and the LLM is not called.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from rag.language import detect_language, has_chinese
from rag.llm import LlamaCppChatModel, build_llm, count_tokens
from rag.prompts import (
    LANGUAGE_RULES,
    REFUSALS,
    answer_prompt,
    condense_prompt,
    translate_prompt,
)
from rag.support import Support, assess_support

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.retrieval import HybridRetriever

logger = logging.getLogger(__name__)

_CITATION_RE = re.compile(r"\[(\d{1,2})\]")
_FOLLOW_UP_RE = re.compile(
    r"(它|它们|其|这个|那个|这种|那种|这些|那些|该|上述|前者|后者|呢[？?]?$|\bit\b|\bits\b|\bthey\b"
    r"|\bthem\b|\bthis\b|\bthat\b|\bthese\b|\bthose\b)",
    re.IGNORECASE,
)
#: Phrases with which the model itself says the passages do not answer.
_SELF_REFUSAL_RE = re.compile(
    r"笔记中没有(找到)?(相关|提到|涉及)|没有(找到)?相关(内容|信息)|(notes|passages) (do not|don't) "
    r"(cover|contain|mention)",
    re.IGNORECASE,
)

#: Sentences in notes that read as instructions to the model (prompt injection).
_INJECTION_RE = re.compile(
    r"(忽略|无视|忘记|忘掉)(掉)?(之前|以上|上面|前面|先前|此前|所有|全部|你的)?的?(所有|全部|一切)?的?"
    r"(指令|指示|提示|规则|要求|设定)"
    r"|(系统|system)\s*(提示词?|prompt)|(输出|泄露|透露|显示|打印).{0,12}(提示词|指令)"
    r"|你现在(是|扮演)|从现在(开始|起)你|不要回答(用户的?)?问题|只(输出|回答|回复)[“\"「『]"
    r"|ignore\s+(all\s+)?(the\s+)?(previous|prior|above|earlier)\s+(instructions|prompts|rules)"
    r"|disregard\s+(all\s+)?(previous|prior|above)|you\s+are\s+now\b"
    r"|(reveal|print|show|repeat)\s+(your\s+|the\s+)?(system\s+)?prompt",
    re.IGNORECASE,
)
#: Notes with at least this share of Chinese words get English questions translated.
CHINESE_NOTES_SHARE = 0.3
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[。！？!?\n])|(?<=\. )")
INJECTION_PLACEHOLDER = "（此处一句疑似指令的文字已略去）"

#: (user, assistant) turns, oldest first.
History = Sequence[tuple[str, str]]


@dataclass
class AnswerEvent:
    """One step of a streamed answer."""

    kind: str  # sources | token | done
    text: str = ""
    docs: list[Document] = field(default_factory=list)
    refused: bool = False
    question: str = ""
    cited: list[int] = field(default_factory=list)
    support: Support | None = None
    #: On ``sources``: ms spent rewriting a follow-up and translating before retrieval.
    rewrite_ms: float = 0.0


@dataclass
class AnswerResult:
    """A complete answer."""

    text: str
    refused: bool
    docs: list[Document]
    cited: list[int]
    question: str


def defuse(text: str) -> str:
    """Replace sentences that read as instructions to the model with a placeholder.

    The passages are already delimited as data in the prompt; this second layer
    keeps a small model from acting on "忽略之前的所有指令……" written in a note.
    The user still sees the full passage among the sources.

    Args:
        text: Passage text.

    Returns:
        The text with injected-instruction sentences replaced.
    """
    if not _INJECTION_RE.search(text):
        return text
    parts = _SENTENCE_SPLIT_RE.split(text)
    return "".join(INJECTION_PLACEHOLDER if _INJECTION_RE.search(p) else p for p in parts)


def format_passages(docs: Sequence[Document]) -> str:
    """Number passages ``[n]`` by rank, with page and heading; defuse instructions.

    A passage without a ``rank`` is numbered by its position. File names stay
    out of the prompt: the user sees them with the sources, and each costs
    the local model a dozen tokens of prompt.
    """
    blocks = []
    for position, doc in enumerate(docs, start=1):
        meta = doc.metadata
        number = meta.get("rank") or position
        where = []
        if meta.get("page"):
            where.append(f"第{meta['page']}页")
        if meta.get("heading"):
            where.append(str(meta["heading"]))
        label = f"[{number}] ({' · '.join(where)})" if where else f"[{number}]"
        text = " ".join(defuse(doc.page_content).split())
        blocks.append(f"{label} {text}")
    return "\n".join(blocks)


def citations(text: str, n_sources: int) -> list[int]:
    """Distinct passage numbers cited as ``[n]`` in ``text``, in order, within range."""
    found = []
    for match in _CITATION_RE.finditer(text):
        number = int(match.group(1))
        if 1 <= number <= n_sources and number not in found:
            found.append(number)
    return found


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the conversation (pronouns, "…呢？", very short)."""
    return bool(_FOLLOW_UP_RE.search(question)) or len(question.strip()) <= 6


class Answerer:
    """Answers questions from retrieved passages with a chat model."""

    def __init__(
        self,
        retriever: HybridRetriever,
        llm: BaseChatModel,
        *,
        passage_tokens: int,
        refuse_below_zh: float,
        refuse_below_en: float,
        translate_questions: bool = True,
    ) -> None:
        """Create the chain.

        Args:
            retriever: Hybrid retriever over the knowledge base.
            llm: The chat model.
            passage_tokens: Token budget for the passages in the prompt.
            refuse_below_zh: Support threshold for Chinese questions.
            refuse_below_en: Support threshold for English questions.
            translate_questions: Translate English questions into Chinese
                before retrieval when the notes are mainly Chinese.
        """
        self.retriever = retriever
        self.llm = llm
        self.passage_tokens = passage_tokens
        self.refuse_below_zh = refuse_below_zh
        self.refuse_below_en = refuse_below_en
        self.answer_chain = answer_prompt() | llm | StrOutputParser()
        self.condense_chain = condense_prompt() | llm | StrOutputParser()
        self.translate_questions = translate_questions
        self.translate_chain = (
            translate_prompt() | llm.bind(max_tokens=80, temperature=0.0) | StrOutputParser()
        )

    @classmethod
    def from_settings(cls, settings: Settings, retriever: HybridRetriever) -> Answerer:
        """Build the chain with the LLM that settings name."""
        return cls(
            retriever,
            build_llm(settings),
            passage_tokens=settings.answer_passage_tokens,
            refuse_below_zh=settings.refuse_below_zh,
            refuse_below_en=settings.refuse_below_en,
            translate_questions=settings.translate_questions,
        )

    def warm_up(self) -> None:
        """Load the model and evaluate the fixed system prompt once.

        Local models reuse the longest prompt prefix they evaluated last, so the
        first real question then only pays for its passages and itself.
        """
        if not isinstance(self.llm, LlamaCppChatModel):
            return  # a remote server keeps its own cache; don't spend a request
        started = time.perf_counter()
        (answer_prompt() | self.llm.bind(max_tokens=1)).invoke(
            {"passages": "", "question": "你好", "language_rule": LANGUAGE_RULES["zh"]}
        )
        logger.info("LLM warmed up in %.1f s", time.perf_counter() - started)

    def standalone_question(self, question: str, history: History) -> str:
        """Rewrite a follow-up into a standalone question (unchanged if not a follow-up)."""
        if not history or not is_follow_up(question):
            return question
        turns = "\n".join(f"用户: {q}\n助手: {a[:200]}" for q, a in history[-3:])
        rewritten = self.condense_chain.invoke({"history": turns, "question": question}).strip()
        rewritten = rewritten.splitlines()[0].strip() if rewritten else ""
        if not rewritten or len(rewritten) > 200:
            return question
        logger.info("rewrote follow-up %r as %r", question, rewritten)
        return rewritten

    def search_query(self, question: str) -> str:
        """The text retrieval searches for: an English question plus its Chinese translation.

        English terms in a question rarely match Chinese notes word for word,
        and the small glossary only bridges LLM vocabulary; a translation by
        the chat model does (the 20 English dev and held-out questions: hit@5
        0.80 → 1.00).
        The original stays in the query, so a loose translation cannot lose
        what the question said. Chinese questions, English notes and
        unusable translations leave the question unchanged.

        Args:
            question: The standalone question.

        Returns:
            The search text.
        """
        if not self.translate_questions or detect_language(question) != "en":
            return question
        if self.retriever.kb.lexical_ready().cjk_share() < CHINESE_NOTES_SHARE:
            return question
        started = time.perf_counter()
        raw = self.translate_chain.invoke({"question": question})
        lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
        translation = lines[0][:150] if lines else ""
        if not has_chinese(translation):
            return question
        logger.info(
            "translated %r as %r in %.1f s", question, translation, time.perf_counter() - started
        )
        return f"{question} {translation}"

    def fit_passages(self, docs: Sequence[Document]) -> list[Document]:
        """The leading passages that fit the token budget; the last one may be cut short.

        The question is never trimmed: only passages are.
        """
        kept: list[Document] = []
        budget = self.passage_tokens
        for doc in docs:
            cost = count_tokens(self.llm, doc.page_content) + 12
            if cost <= budget:
                kept.append(doc)
                budget -= cost
                continue
            if budget >= 60:  # room for a useful part: cut at a sentence end
                text = doc.page_content
                while text and count_tokens(self.llm, text) + 12 > budget:
                    cut = max(text.rfind(p, 0, int(len(text) * 0.85)) for p in "。！？.!?\n")
                    text = text[: cut + 1] if cut > 0 else text[: int(len(text) * 0.85)]
                if text.strip():
                    kept.append(Document(page_content=text, metadata=doc.metadata, id=doc.id))
            break
        return kept

    def stream(
        self, question: str, history: History = (), k: int | None = None
    ) -> Iterator[AnswerEvent]:
        """Answer ``question`` step by step (see the module docstring for the events).

        Args:
            question: The user's question.
            history: Earlier (question, answer) turns of this chat.
            k: Passages to retrieve (default: the retriever's).

        Yields:
            ``sources``, then ``token`` events, then ``done``.
        """
        started = time.perf_counter()
        standalone = self.standalone_question(question, history)
        search = self.search_query(standalone)
        rewrite_ms = (time.perf_counter() - started) * 1000
        docs = self.retriever.search(search, k)
        # A translated question is searched half in Chinese, so its cosine
        # scores run as high as a Chinese question's: the Chinese threshold applies.
        translated = search != standalone
        support = assess_support(
            standalone,
            docs,
            self.retriever.kb.lexical_ready(),
            min_vector_zh=self.refuse_below_zh,
            min_vector_en=self.refuse_below_zh if translated else self.refuse_below_en,
        )
        language = detect_language(question)
        yield AnswerEvent(
            "sources", docs=docs, refused=not support.supported, question=standalone,
            support=support, rewrite_ms=rewrite_ms,
        )  # fmt: skip
        if not support.supported:
            logger.info("refused %r: %s", standalone, support)
            text = REFUSALS[language]
            yield AnswerEvent("token", text=text)
            yield AnswerEvent("done", text=text, refused=True, question=standalone)
            return
        passages = self.fit_passages(docs)
        inputs = {
            "passages": format_passages(passages),
            "question": standalone,
            "language_rule": LANGUAGE_RULES[language],
        }
        parts: list[str] = []
        for piece in self.answer_chain.stream(inputs):
            if piece:
                parts.append(piece)
                yield AnswerEvent("token", text=piece)
        text = "".join(parts).strip()
        refused = bool(_SELF_REFUSAL_RE.search(text)) and not citations(text, len(passages))
        yield AnswerEvent(
            "done", text=text, refused=refused, question=standalone,
            cited=citations(text, len(passages)),
        )  # fmt: skip

    def answer(self, question: str, history: History = (), k: int | None = None) -> AnswerResult:
        """Answer without streaming.

        Args:
            question: The question.
            history: Earlier turns.
            k: Passages to retrieve.

        Returns:
            The full answer with its sources.
        """
        sources: list[Document] = []
        for event in self.stream(question, history, k):
            if event.kind == "sources":
                sources = event.docs
            elif event.kind == "done":
                return AnswerResult(event.text, event.refused, sources, event.cited, event.question)
        raise RuntimeError("answer stream ended without a result")
