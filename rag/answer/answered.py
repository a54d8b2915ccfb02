"""Whether a finished answer gives the value a question asked for, where the notes give it.

A near-miss question ("文心一言是哪家公司开发的？") passes retrieval when the passages
discuss its subject; the small model then either answers around it, with no value
at all, or fills the gap with a value that does stand in a passage, but about
something else ("阿里巴巴", from a sentence about 通义). For every part of the
question that asks for a value (:func:`rag.retrieval.asked.asked_types`),
:func:`unanswered_parts` looks in the answer for a value of that kind that is not
one of the question's own words, and accepts it only where a passage holds it
within :data:`WINDOW` sentences of the part's focus term.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answer.citations import CITATION_RE
from rag.answer.facts import figures, fold
from rag.retrieval.asked import (
    ATTRIBUTE_WINDOW,
    AnswerType,
    read_value_parts,
    unit_value,
)
from rag.text.sentences import around, split_sentences
from rag.text.tokens import proper_names

#: Sentences either side of the focus term's sentence where the value may stand.
WINDOW = ATTRIBUTE_WINDOW
_YEAR_RE = re.compile(r"^(1[6-9]|20)\d{2}")
_CJK_NUMBER_RE = re.compile(
    r"[数几]?[一二两三四五六七八九十百千万亿]+\s*(个|种|层|倍|次|条|位|步|项|名|亿|万)|"
    r"[一二两三四五六七八九十百千万亿]+分之[一二两三四五六七八九十百千万亿]+"
)
#: Section labels ("1.2.1") are not values.
_SECTION_RE = re.compile(r"^\d+(\.\d+){2,}$")
#: English number words cannot be matched against Chinese notes: they count as given.
_NUMBER_WORDS_RE = re.compile(
    r"\b(dozens?|hundreds?|thousands?|millions?|billions?|trillions?|tens of)\b", re.I
)

_TITLE_RE = re.compile(r"《[^》]{2,40}》")
_QUOTE_OPEN_RE = re.compile(r"^\s*笔记原文[：:]\s*")
#: An answer's opening label, or a list item's number.
_LEAD_RE = re.compile(r"^\s*(according to your notes:?|要点[：:])|^\s*\d+\.\s", re.I | re.M)
#: What an answer and its question are compared by: Latin words and Chinese characters.
_WORD_UNITS_RE = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]")
#: Questions whose answer may be their own words: yes/no, and a choice ("A 还是 B？").
_YES_NO_RE = re.compile(
    r"吗|是否|能否|可否|有没有|是不是|还是|\bor\b|"
    r"^\s*(is|are|can|could|does|do|did|should|will|would|was|were)\b",
    re.I,
)


def answer_values(answer: str, question: str) -> dict[AnswerType, list[str]]:
    """The values an answer states, by kind, leaving out the question's own words.

    Args:
        answer: The answer text.
        question: The question; a value it already contains is not an answer.

    Returns:
        For each kind of value (number, time, who, name), the values found.
    """
    text = CITATION_RE.sub(" ", _QUOTE_OPEN_RE.sub("", answer))
    asked = fold(question) + " " + " ".join(fold(gloss) for gloss in glosses(text, question))
    found: dict[AnswerType, list[str]] = {"number": [], "time": [], "who": [], "name": []}
    for figure in figures(text):
        if fold(figure) in asked or _SECTION_RE.match(figure):
            continue
        if figure[0].isdigit():
            found["number"].append(figure)
            if _YEAR_RE.match(figure):
                found["time"].append(figure)
        elif len(figure) > 1:  # "N", "D": a formula's letters, not names
            found["who"].append(figure)
            found["name"].append(figure)
    found["number"] += [m.group() for m in _CJK_NUMBER_RE.finditer(text)]
    for name in proper_names(text):
        if fold(name) not in asked:
            found["who"].append(name)
            found["name"].append(name)
    found["name"] += [t for t in _TITLE_RE.findall(text) if fold(t) not in asked]
    return found


#: A term with its translation in parentheses: "指令微调(Instruction Tuning)",
#: "multimodal (多模态)".
_GLOSS_RE = re.compile(
    r"(?P<zh>[\u4e00-\u9fff]{2,})\s*[（(]\s*(?P<en>[A-Za-z][\w .'’-]{1,40}?)\s*[）)]|"
    r"(?P<en2>[A-Za-z][\w.'’-]*(?: [A-Za-z][\w.'’-]*){0,4})\s*"
    r"[（(]\s*(?P<zh2>[\u4e00-\u9fff]{2,})\s*[）)]"
)


#: Words that say what kind of thing a name is: "医学知识图谱数据集(CMeKG)" names the
#: dataset asked for, it does not translate "数据集".
_KIND_WORDS = ("数据集", "模型", "算法", "框架", "论文", "工具", "方法", "函数", "指标", "库")


def glosses(text: str, question: str) -> list[str]:
    """The other-language names an answer gives for the question's own terms.

    "指令微调(Instruction Tuning)" in an answer to a question about 指令微调 restates
    the question; it is not the name the question asks for. The term is the end of
    the Chinese run before the parenthesis that the question holds.
    """
    asked = fold(question)
    found = []
    for match in _GLOSS_RE.finditer(text):
        if match["zh"]:
            run, gloss = match["zh"], match["en"]
            term = next((run[i:] for i in range(len(run) - 1) if run[i:] in asked), "")
        else:  # "multimodal (多模态)": the Chinese gloss starts with the term
            run, gloss = match["zh2"], match["en2"]
            term = next((run[:i] for i in range(len(run), 1, -1) if run[:i] in asked), "")
        if term and term not in _KIND_WORDS:
            found.append(gloss)
    return found


def echoes_question(answer: str, question: str) -> bool:
    """Whether an answer, without its labels and citations, only repeats the question.

    The small model sometimes answers with the question itself ("检索的时候 k 一般取几？
    [2]"). A short answer with a word of its own ("谷歌[1]", "12 层") is an answer;
    so is one that repeats a yes/no or either/or question ("可以结合使用[1]"). An
    empty answer is the verifier's (:attr:`rag.answer.verify.Verified.emptied`).
    """
    if _YES_NO_RE.search(question):
        return False
    body = _QUOTE_OPEN_RE.sub("", CITATION_RE.sub("", answer))
    words = _WORD_UNITS_RE.findall(re.sub(_LEAD_RE, "", body).lower())
    asked = set(_WORD_UNITS_RE.findall(question.lower()))
    return bool(words) and sum(word in asked for word in words) >= 0.9 * len(words)


def stands_near(
    value: str,
    focus: str | Sequence[str] | None,
    passages: Sequence[str],
    attributes: Sequence[str] = (),
) -> bool:
    """Whether a passage holds ``value`` within :data:`WINDOW` sentences of ``focus``.

    ``focus`` may be one term or the ways of writing it (any of them will do).

    With ``attributes``, that stretch of the passage must also hold one of them (what
    was asked about the focus: "创始", "词表"), so that a value said of the focus in
    another respect does not count.
    """
    wanted = fold(value)
    forms = [focus] if isinstance(focus, str) else [fold(f) for f in focus or ()]
    for passage in passages:
        if wanted not in fold(passage):
            continue
        sentences = [fold(s) for s in split_sentences(passage)]
        for index, sentence in enumerate(sentences):
            if forms and not any(form in sentence for form in forms):
                continue
            nearby = around(sentences, index, WINDOW) if forms else sentence
            if wanted not in nearby or listed_with(wanted, forms, sentence):
                continue
            if not attributes or any(a in nearby for a in attributes):
                return True
    return False


#: Between two items of one list: a short stretch with a list comma and no verb of saying.
_SIBLINGS_RE = re.compile(r"^[^。；;：:是为由用]{0,40}$")


def listed_with(value: str, forms: Sequence[str], sentence: str) -> bool:
    """Whether ``value`` is, wherever ``sentence`` holds it, a sibling of the focus.

    A sibling is another item of a list that the focus is an item of.

    "BenTsao(医学)、LAWGPT(法律)、TaoLi(教育)": LAWGPT stands next to BenTsao, but
    says nothing about it. Numbers are never siblings: "7B、13B、33B、65B" are the
    values of one list.
    """
    if _NUMBER_START_RE.match(value):
        return False
    values = [m.start() for m in re.finditer(re.escape(value), sentence)]
    starts = [
        (m.start(), m.end()) for form in forms for m in re.finditer(re.escape(form), sentence)
    ]
    return bool(values and starts) and all(
        any(_siblings(sentence, span, (at, at + len(value))) for span in starts) for at in values
    )


_NUMBER_START_RE = re.compile(r"^[\d一二两三四五六七八九十百千万亿]")


def _siblings(sentence: str, one: tuple[int, int], other: tuple[int, int]) -> bool:
    left, right = sorted([one, other])
    between = sentence[left[1] : right[0]]
    return "、" in between and bool(_SIBLINGS_RE.match(between))


def unanswered_parts(
    answer: str,
    passages: Sequence[str],
    question: str,
    doc_freq: Callable[[str], int],
    translate: Callable[[str], list[str]] | None = None,
) -> list[str]:
    """The value-asking parts of ``question`` that ``answer`` gives no supported value for.

    A part is answered when, for each kind of value it asks, the answer states a
    value of that kind (in the unit asked, if any: "多少层" wants "12 层") that a
    passage holds near the part's focus term and one of its attribute words.

    Args:
        answer: The finished answer.
        passages: The full text of the passages the model was given.
        question: The (standalone) question.
        doc_freq: How many chunks hold a term (for the focus term).
        translate: English words → the notes' Chinese words (an English part's
            attribute words, :func:`rag.retrieval.asked.read_value_parts`).

    Returns:
        The unanswered parts, in question order (empty when nothing specific is asked).
    """
    values = answer_values(answer, question)
    english_numbers = bool(_NUMBER_WORDS_RE.search(answer))
    missing = []
    for part in read_value_parts(question, doc_freq, translate):
        found = dict(values)
        if part.unit and "number" in part.kinds:
            found["number"] = [m.group() for m in unit_value(part.unit).finditer(answer)]
        given = all(
            (kind == "number" and english_numbers)
            or any(stands_near(v, part.focus_forms, passages, part.attributes) for v in found[kind])
            for kind in part.kinds
        )
        if not given:
            missing.append(part.text)
    return missing
