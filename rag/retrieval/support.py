"""Decide, from retrieval evidence alone, whether the notes can answer a question.

The small local model answers from its own memory when the passages do not
help, so the chain asks it nothing when :func:`assess_support` says the
passages do not support an answer. The evidence:

* ``unknown``: technical terms of the question that the notes never mention
  (neither the term nor any glossary translation of it). In a Chinese
  question every Latin-script token is such a term ("DPO 和 PPO 的区别");
  in an English question only acronyms, CamelCase and words with digits are.
* ``vector``: the best cosine similarity, of a passage or one of its
  sentences, among the first :data:`SUPPORT_PASSAGES`, with a threshold per
  question language (cross-lingual similarities run lower).
* ``missing``: the parts of the question that ask for a specific value (a
  number, a year, a person or organisation, a name) that no leading passage
  has next to what the part is about and what it asks about it ("LangChain",
  "创建"; :mod:`rag.retrieval.asked`). When every
  such part is missing the question is refused; when some are, the answer is
  partial, and says what the notes do not cover.

Thresholds come from settings and were calibrated on a dev set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_core.documents import Document

from rag.retrieval.asked import holds_answer, read_value_parts, value_parts
from rag.store.lexical import LexicalIndex
from rag.text.glossary import expand_query
from rag.text.language import detect_language
from rag.text.tokens import STOPWORDS

_LATIN_TERM_RE = re.compile(r"^[a-z0-9][a-z0-9\-_.]*$")


#: The leading passages whose evidence counts (the ones an answer can draw on).
SUPPORT_PASSAGES = 3


@dataclass(frozen=True)
class Support:
    """Retrieval evidence for one question."""

    supported: bool
    language: str
    vector: float
    unknown: tuple[str, ...]
    #: Parts of the question asking for a value that the passages do not hold.
    missing: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """Why a question is refused or partly answered ("" when fully supported)."""
        if self.unknown:
            return "unknown_terms"
        if not self.supported and self.missing:
            return "value_not_in_notes"
        if not self.supported:
            return "low_similarity"
        return "partial" if self.missing else ""


def missing_parts(question: str, docs: list[Document], lexical: LexicalIndex) -> list[str]:
    """The parts of ``question`` that ask for a value no leading passage holds.

    Args:
        question: The (standalone) question.
        docs: Retrieved passages, best first.
        lexical: The BM25 index (document frequencies, tokens).

    Returns:
        The missing parts, in question order (empty when nothing specific is asked).
    """
    missing = []
    texts = [doc.page_content for doc in docs[:SUPPORT_PASSAGES]]
    for part in read_value_parts(question, lexical.doc_freq, lexical.translate):
        focus = list(part.focus_forms)
        asked = lexical.query_tokens(part.text)
        if not any(
            holds_answer(text, part.kinds, focus, asked, unit=part.unit, attributes=part.attributes)
            for text in texts
        ):
            missing.append(part.text)
    return missing


def _jargon(question: str) -> set[str]:
    """Lower-cased English tokens written like jargon: ACRONYM, CamelCase, with digits."""
    found = set()
    for word in re.findall(r"[A-Za-z][A-Za-z0-9\-]*", question):
        inner_caps = sum(1 for ch in word[1:] if ch.isupper())
        if inner_caps or any(ch.isdigit() for ch in word):
            found.add(word.lower())
    return found


def unknown_terms(question: str, lexical: LexicalIndex, language: str) -> list[str]:
    """Technical terms of ``question`` that the indexed notes never mention.

    Args:
        question: The question.
        lexical: The BM25 index of the notes.
        language: ``"zh"`` or ``"en"`` (see :func:`detect_language`).

    Returns:
        The unknown terms, in question order.
    """
    glossary = lexical.glossary()
    jargon = _jargon(question) if language == "en" else None
    unknown = []
    for term in dict.fromkeys(lexical.query_tokens(question)):
        if not _LATIN_TERM_RE.match(term) or term in STOPWORDS or len(term) < 2:
            continue
        if jargon is not None and term not in jargon:
            continue
        if lexical.doc_freq(term) > 0 or (term.endswith("s") and lexical.doc_freq(term[:-1]) > 0):
            continue
        expansion = " ".join(expand_query(term, glossary))
        if any(lexical.doc_freq(t) > 0 for t in lexical.query_tokens(expansion)):
            continue
        unknown.append(term)
    return unknown


def assess_support(
    question: str,
    docs: list[Document],
    lexical: LexicalIndex,
    *,
    min_vector_zh: float,
    min_vector_en: float,
) -> Support:
    """Whether the retrieved passages support answering ``question``.

    Args:
        question: The (standalone) question.
        docs: Retrieved passages, best first, with ``vector_score`` and
            ``sentence_score`` metadata.
        lexical: The BM25 index (document frequencies, glossary).
        min_vector_zh: Similarity threshold for Chinese questions.
        min_vector_en: Similarity threshold for English questions.

    Returns:
        The decision and its evidence.
    """
    language = detect_language(question)
    if not docs:
        return Support(False, language, 0.0, ())
    unknown = unknown_terms(question, lexical, language)
    leading = docs[:SUPPORT_PASSAGES]
    vector = max(
        max(d.metadata.get("vector_score") or 0.0, d.metadata.get("sentence_score") or 0.0)
        for d in leading
    )
    threshold = min_vector_zh if language == "zh" else min_vector_en
    missing = missing_parts(question, docs, lexical)
    asked = value_parts(question)
    all_missing = bool(asked) and len(missing) == len(asked)
    supported = not unknown and vector >= threshold and not all_missing
    return Support(supported, language, round(vector, 4), tuple(unknown), tuple(missing))
