"""What a question asks for, and whether a passage holds it (pure functions).

A near-miss question names something the notes discuss and asks for one of its
attributes that they do not give: "GPT-4 在 MMLU 上得了多少分？" over notes that
mention GPT-4 and MMLU but no score. Similarity cannot tell it from an answerable
question; its *answer type* can. :func:`asked_types` reads the kinds of value a
question asks for (a number, a year or date, a person or organisation, a name);
:func:`holds_answer` checks that one sentence (with its neighbours) of a
passage has a value of each kind next to one of the question's focus words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rag.text.sentences import around, split_sentences
from rag.text.tokens import nouns, tokenize

AnswerType = Literal["number", "time", "who", "name"]

#: Question cues, by the kind of value they ask for.
CUES: dict[AnswerType, re.Pattern[str]] = {
    "number": re.compile(
        r"多少(?!种|些)|(?<!哪)几(个|层|倍|次|条|位|步|项|名|部|道|岁|天|亿|万|千|百)|多大|多长|多高|多重|"
        r"多久|百分之|准确率|得分|\bhow (many|much|long|large|big|fast)\b|"
        r"\bwhat(?:'s|’s)?\b(?: (?!differences?\b|between\b)[\w.'’-]+){0,4} "
        r"(number|sizes?|score|length|percentage|ratio|cost|"
        r"price|value|rate|count)\b|(?<!提)取几(?!何)|(哪几种|哪些)(参数)?规模|参数规模有哪些",
        re.I,
    ),
    "time": re.compile(
        r"哪一?年|哪个年份|(什么时候|何时)(推出|发布|提出|成立|上线|开源|诞生|出现|问世|发表)|"
        r"哪一?天|哪个?月|几月|\bwhat year\b|\bwhich year\b|\bwhen (was|were|did)\b",
        re.I,
    ),
    "who": re.compile(
        r"谁|哪家|哪个(公司|团队|机构|实验室|组织|大学)|哪些(公司|团队|机构)|(?<!笔记)作者|创始人|"
        r"发明者|提出者|\bwho\b|\bwhich(?: [\w-]+){0,2} (company|lab|team|group|organi[sz]ation|"
        r"institution|institute|university)\b",
        re.I,
    ),
    "name": re.compile(
        r"(哪个|哪一个)[^，,。？?的]{0,12}?(数据集|模型|算法|论文|框架|库|工具|版本|命令)(?![更最比])|"
        r"哪篇|(什么|哪条)命令|"
        # "PPO 是什么算法？" asks what it is, "为什么需要损失函数" why: neither asks a name.
        r"(?<![为是])(什么|哪种|哪一种)(?!是)[^，,。？?的]{0,6}?(数据集|对话数据|度量|指标|编码器|"
        r"优化器|激活函数|损失函数|算法)|"
        r"(用|采用|使用)的?是(什么|哪种|哪一种)[^，,。？?的]{0,6}?(数据集|损失函数|算法|优化器|"
        r"激活函数|编码器)|"
        r"(?<!这种)(?<!这类)(?<!这个)(数据集|模型|论文|算法|框架|库)[^，,。？?]{0,3}叫什么|"
        r"(?<!问)(标题|题目)(?!中)|"
        r"(用|采用|使用)的[^，,。？?]{0,8}?(数据集|损失函数|算法|优化器|激活函数|编码器)(是|为)(什么|哪)|"
        r"\bwhich(?: (?!(?:does|do|did|is|are|was|were)\b)[\w.-]+){0,2} "
        r"(dataset|paper|study|studies|framework|library|version|algorithm)s?\b|"
        r"\bwhat(?: (?!(?:does|do|did|is|are|was|were)\b)[\w.-]+){0,2} "
        r"(dataset|metric|optimizer|encoder|activation function|loss function|"
        r"algorithm|command)s?\b|"
        r"\bwhat is the (name|title)\b",
        re.I,
    ),
}
_VALUES: dict[AnswerType, re.Pattern[str]] = {
    "number": re.compile(
        r"\d|[一二两三四五六七八九十百千万亿]+\s*(个|种|层|倍|次|条|位|步|项|名|亿|万|千|百|%|成|分之)|"
        r"\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b",
        re.I,
    ),
    "time": re.compile(r"(1[6-9]|20)\d{2}|\d{1,2}\s*月|[一二三四五六七八九十]+月|年代|世纪"),
    "who": re.compile(
        r"[A-Z][a-zA-Z]+|公司|大学|学院|实验室|研究院|研究所|团队|机构|研究人员|研究员|研究者|"
        r"谷歌|微软|百度|阿里|腾讯|华为|清华|北大|智谱|百川|讯飞|字节"
    ),
    "name": re.compile(r"[A-Za-z][A-Za-z0-9\-.]+|《[^》]+》|“[^”]+”|\"[^\"]+\""),
}
#: The unit a number question asks in ("多少层" → 层), and what a passage writes it as.
_UNIT_RE = re.compile(
    r"(?:多少|几)\s*(个|名|位|层|倍|条|种|次|项|道|元|美元|块|张|步|轮|天|年|月|小时|分钟|秒|字|词|"
    r"token|tokens|参数|亿|万|GB|MB|TB|%)",
    re.I,
)
_UNIT_VALUES: dict[str, str] = {
    "参数": r"(\d[\d.,]*\s*(亿|万|千|[BMK]\b)|[一二两三四五六七八九十百千]+\s*(亿|万))",
    "亿": r"\d[\d.,]*\s*亿|[一二两三四五六七八九十百千]+\s*亿",
    "万": r"\d[\d.,]*\s*万|[一二两三四五六七八九十百千]+\s*万",
    "%": r"\d[\d.,]*\s*%|百分之",
    "美元": r"\d[\d.,]*\s*(美元|\$|美金)|\$\s*\d",
    "元": r"\d[\d.,]*\s*(元|块|美元|\$)",
    "token": r"\d[\d.,]*\s*(个)?\s*(token|词元|标记)",
    "tokens": r"\d[\d.,]*\s*(个)?\s*(token|词元|标记)",
}
#: Words of a question that are part of its cue or its shape, never its focus.
_NOT_FOCUS = re.compile(
    r"^(多少|几|多大|多长|哪|哪个|哪家|哪一年|什么|时候|何时|谁|作者|名字|标题|叫|是|有|的|一共|大约|"
    r"大概|通常|一般|具体|分别|取值|数值|最早|最大|第一|笔记|里|中|提到|提出|发布|开发|例子|示例|机构|公司|团队|"
    r"实验室|组织|how|many|much|what|"
    r"which|who|when|year|the|is|was|of|in|does|did)$",
    re.I,
)


_COMPARE_CUE_RE = re.compile(
    r"区别|不同|差异|异同|对比|比较|相比|优劣|哪个更|\bdiffer(ence|ences|s)?\b|\bcompar(e|ed|ison)\b"
    r"|\bvs\.?\b|\bversus\b",
    re.I,
)
_COMPARE_JOIN_RE = re.compile(
    r"\s*(?:和|与|跟|同|及|以及|对比|相比|\band\b|\bvs\.?|\bversus\b)\s*", re.I
)
_COMPARE_FILLER_RE = re.compile(
    r"^(请问|请|比较一下|对比一下|比较|对比|一下|说说|讲讲|what(?:'s| is| are) the|how (?:do|does)|"
    r"between|of)\s*",
    re.I,
)


def compared_sides(question: str) -> tuple[str, str] | None:
    """The two things a comparison question compares ("RAG 和微调有什么区别？" → RAG, 微调).

    Each side is the text between the connectors ("和", "与", "and" …), without the
    cue and the filler around it; a side's first word names it.
    """
    cue = _COMPARE_CUE_RE.search(question)
    if not cue:
        return None
    for before, span in ((True, question[: cue.start()]), (False, question[cue.end() :])):
        clause = re.split(r"[，,。；;：:]", span.strip())[-1 if before else 0]
        clause = re.sub(r"(有什么|有何|有哪些|之间|的|在.{0,8}方面)+\s*$", "", clause.strip())
        for _ in range(2):
            clause = _COMPARE_FILLER_RE.sub("", clause.strip())
        sides = [
            s.strip(" ，,。？?") for s in _COMPARE_JOIN_RE.split(clause) if s.strip(" ，,。？?")
        ]
        if len(sides) >= 2:
            return sides[0], sides[1]
    return None


#: "参数量是多少" asks for a count of parameters, like "多少参数".
_PARAMETERS_RE = re.compile(
    r"参数(?:量|规模|数量|个数)?\s*(?:是|有|为|约|大约|一共|共)*\s*多少|多少个?参数|"
    r"(哪几种|哪些)(参数)?规模|参数规模有哪些"
)


#: English questions for a model's size ask for a number of parameters.
_SIZE_RE = re.compile(r"\bwhat (model )?sizes\b|\bhow many param(eter)?s\b", re.I)
#: What a count asks to count: "几个注意力头" → 注意力头, "几个 MoE 模型" → MoE. The
#: noun ends before a particle or verb ("几个阶段组成" → 阶段).
_COUNTED_RE = re.compile(
    r"(?:多少|几)\s*个\s*(?P<noun>[A-Za-z][\w-]*|"
    r"[\u4e00-\u9fff]{1,6}?(?=[的是有在和与吗呢被？?，,\s]|组成|构成|分别|包括|包含|$))"
)
#: A counted noun that names no particular thing ("几个部分" asks as "几个" does).
_ANY_THING = ("部分", "方面", "阶段", "步骤", "方法", "类型", "问题", "东西", "种类", "环节")


def asked_unit(question: str) -> str | None:
    """The unit a number question asks in ("多少层" → "层"), if it names one.

    A count of something named gives the unit with the thing: "几个注意力头" → "个注意力头",
    so that "两个部分" does not answer it.
    """
    if _PARAMETERS_RE.search(question) or _SIZE_RE.search(question):
        return "参数"
    counted = _COUNTED_RE.search(question)
    if counted and len(counted["noun"]) >= 2 and not any(w in counted["noun"] for w in _ANY_THING):
        return "个" + counted["noun"].lower()
    match = _UNIT_RE.search(question)
    return match.group(1).lower() if match else None


def unit_value(unit: str) -> re.Pattern[str]:
    """How a passage writes a number in ``unit`` ("12层", "1750 亿", "3 倍", "两个注意力头").

    A counted thing ("个注意力头") may be written shorter: by any two characters of it,
    or its last one ("8 个头").
    """
    if len(unit) > 1 and unit[0] == "个":
        noun = unit[1:]
        forms = [noun] if noun.isascii() else [noun[i : i + 2] for i in range(len(noun) - 1)]
        forms += [] if noun.isascii() else [noun[-1]]
        pattern = (
            rf"(\d[\d.,]*|[一二两三四五六七八九十百千万]+)\s*个[^，。；;,\n]{{0,8}}?"
            rf"({'|'.join(map(re.escape, forms))})"
        )
        return re.compile(pattern, re.I)
    pattern = _UNIT_VALUES.get(unit) or (
        rf"(\d[\d.,]*|[一二两三四五六七八九十百千万]+)\s*[亿万千百]?\s*{re.escape(unit)}"
    )
    return re.compile(pattern, re.I)


def asked_types(question: str) -> list[AnswerType]:
    """The kinds of value ``question`` asks for, in a fixed order; empty for other questions.

    Args:
        question: The (standalone) question, or one part of it (:func:`question_parts`).
    """
    return [kind for kind, cue in CUES.items() if cue.search(question)]


def value_parts(question: str) -> list[str]:
    """The parts of ``question`` that ask for a value (:func:`asked_types`), in order."""
    return [part for part in question_parts(question) if asked_types(part)]


@dataclass(frozen=True)
class ValuePart:
    """One part of a question that asks for a value, read once for both checks."""

    text: str
    kinds: list[AnswerType]
    #: What the part is about (:func:`focus_term`), or None.
    focus: str | None
    #: What it asks about the focus (:func:`attribute_words`).
    attributes: list[str]
    #: The unit a number is asked in (:func:`asked_unit`), or None.
    unit: str | None
    #: How the notes may write the focus: itself, and for an English part its Chinese too.
    focus_forms: tuple[str, ...] = ()


def read_value_parts(
    question: str,
    doc_freq: Callable[[str], int],
    translate: Callable[[str], list[str]] | None = None,
) -> list[ValuePart]:
    """The value-asking parts of ``question`` (:func:`value_parts`), each read once.

    Args:
        question: The (standalone) question.
        doc_freq: How many chunks of the notes hold a term (for the focus term).
        translate: English words → the notes' Chinese words for them (the index's
            dictionary); gives an English part its attribute words.
    """
    parts: list[ValuePart] = []
    named: str | None = None
    for part in question_parts(question):
        # "文心一言是哪家公司开发的？什么时候发布的？": a part that names nothing asks about
        # what the part before it named.
        focus = focus_term(part, doc_freq) or named
        named = focus
        if not asked_types(part):
            continue
        attributes = attribute_words(part, focus)
        forms: tuple[str, ...] = (focus,) if focus else ()
        if translate is not None and not _CJK_RE.search(part):
            attributes = attributes or english_attribute_words(part, focus, translate)
            forms += tuple(translate(focus)) if focus else ()
        parts.append(ValuePart(part, asked_types(part), focus, attributes, asked_unit(part), forms))
    return parts


_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def english_attribute_words(
    part: str, focus: str | None, translate: Callable[[str], list[str]]
) -> list[str]:
    """What an English part asks about its focus, as the notes' Chinese words.

    "How many layers does the BERT encoder have?" → 编码器: the part without its
    cue and focus, translated word by word (one-character words are too common).
    """
    for cue in CUES.values():
        part = cue.sub(" ", part)
    if focus:
        part = re.sub(re.escape(focus), " ", part, flags=re.I)
    # Names stay as they are: the notes write "GPU" and "RAM" in Latin letters too.
    names = [w.lower() for w in _LATIN_RE.findall(part) if sum(c.isupper() for c in w) >= 2]
    chinese = [w for w in translate(part) if len(w) >= 2 and not _NOT_FOCUS.match(w)]
    return list(dict.fromkeys([*names, *chinese]))


def question_parts(question: str) -> list[str]:
    """A multi-part question cut into its questions ("X 是什么？它有多少参数？" → two)."""
    parts = [p.strip() for p in re.split(r"[？?；;]|，(?:并且|以及|还有|另外)", question)]
    return [p for p in parts if len(p) >= 2] or [question]


_LATIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9\-.]*[A-Za-z0-9]")


def focus_term(part: str, doc_freq: Callable[[str], int]) -> str | None:
    """What a question part is about: its rarest Latin-script term, else its rarest noun.

    Args:
        part: One part of a question.
        doc_freq: How many chunks of the notes hold a term (0: none).

    Returns:
        The term (lower case), or None when the part names nothing specific.
    """
    words = [w for w in _LATIN_RE.findall(part) if not _NOT_FOCUS.match(w)]
    if words and not re.search(r"[\u4e00-\u9fff]", part):
        # An English question: its names (GPT-4, MMLU, LLaMA), not its every word.
        named = [w for w in words[1:] if w[0].isupper()] + [
            w for w in words if any(c.isdigit() for c in w) or sum(c.isupper() for c in w) >= 2
        ]
        words = named or [w for w in words if len(w) >= 5]
    latin = [w.lower() for w in words]
    candidates = latin or [n for n in nouns(part) if not _NOT_FOCUS.match(n)]
    if not candidates:
        return None
    unique: list[str] = list(dict.fromkeys(candidates))
    return min(unique, key=lambda term: doc_freq(term) or 10**9)


#: Sentences either side of the focus word's sentence where an attribute word may stand
#: (the same reach as the check of the written answer, :mod:`rag.answer.answered`).
ATTRIBUTE_WINDOW = 2


def holds_answer(
    text: str,
    kinds: Sequence[AnswerType],
    focus: Sequence[str],
    asked: Sequence[str] = (),
    window: int = 1,
    unit: str | None = None,
    attributes: Sequence[str] = (),
) -> bool:
    """Whether ``text`` has, near one of the focus words, a value of every asked kind.

    "Near" is within the same sentence or ``window`` sentences either side. The
    question's own words do not count as values ("GPT-4" is not a number, "MMLU"
    not a name, for a question about them). With ``attributes`` (what the part
    asks about its focus, :func:`attribute_words`), one of them must stand within
    :data:`ATTRIBUTE_WINDOW` sentences of the focus too: a passage that gives
    LangChain's other figures does not give the year it was created.

    Args:
        text: A passage.
        kinds: What the question asks for (:func:`asked_types`).
        focus: The question's focus words (lower case), e.g. its rarest ones.
        asked: All the question's words (lower case), blanked out before looking for values.
        window: Sentences of context either side.
        unit: The unit a number question asks in (:func:`asked_unit`); the number
            must be written in it.
        attributes: Lower-case words of which one must stand near the focus word.

    Returns:
        True when some sentence window holds a focus word and a value of each kind
        (always True when nothing specific is asked, or there is no focus word).
    """
    if not kinds:
        return True
    sentences = split_sentences(text)
    own = sorted({t for t in [*focus, *asked] if t}, key=len, reverse=True)
    own_re = re.compile("|".join(map(re.escape, own)), re.I) if own else None
    for index, sentence in enumerate(sentences):
        if focus and not any(term in sentence.lower() for term in focus):
            continue
        if attributes:
            reach = around(sentences, index, ATTRIBUTE_WINDOW).lower()
            if not any(word in reach for word in attributes):
                continue
        nearby = around(sentences, index, window)
        if own_re is not None:
            nearby = own_re.sub(" ", nearby)
        values = {kind: _VALUES[kind] for kind in kinds}
        if unit and "number" in values:
            values["number"] = unit_value(unit)
        if all(pattern.search(nearby) for pattern in values.values()):
            return True
    return False


#: A count in the question ("两个月后") is part of what it says, not of what it asks.
_COUNT_WORD_RE = re.compile(r"^[\d一二两三四五六七八九十百千万亿几]+[个种层倍次条位步项名年月天]?$")

#: A who-question's role ("第一作者是谁" → 作者) or what it says the one asked about did
#: ("哪个机构发布的"), by the stems a passage must show next to the name: a name that
#: merely stands near the focus is not its author or publisher. Roles come first, so
#: that "提出者" reads as the role, not the deed 提出; among deeds, the first in the part.
_WHO_ROLES = {
    "作者": ("作者", "撰写", "写"),
    "创始人": ("创始", "创立", "创办", "成立"),
    "发明者": ("发明",),
    "提出者": ("提出",),
}
_WHO_DEEDS = {
    "提出": ("提出",),
    "发布": ("发布", "推出", "开源"),
    "推出": ("发布", "推出"),
    "开发": ("开发", "研发", "推出", "打造"),
    "研发": ("开发", "研发", "推出"),
    "开源": ("开源", "发布"),
}


def _who_stems(part: str) -> list[str]:
    """The stems a who-question part's role, else its first deed, asks for (or none)."""
    if not CUES["who"].search(part):
        return []
    for table in (_WHO_ROLES, _WHO_DEEDS):
        found = [(part.find(word), stems) for word, stems in table.items() if word in part]
        if found:
            return list(min(found)[1])
    return []


def attribute_words(part: str, focus: str | None) -> list[str]:
    """What a question part asks about its focus: its Chinese words besides the focus and cue.

    A who-question's role word gives its stems instead ("创始人" → 创始, 创立 …).
    English parts have none (their words are not the notes' words).
    """
    stems = _who_stems(part)
    if stems:
        return stems
    for cue in CUES.values():
        part = cue.sub(" ", part)
    return [
        word
        for word in tokenize(part)
        if len(word) >= 2
        and not word.isascii()
        and not _NOT_FOCUS.match(word)
        and not _COUNT_WORD_RE.match(word)
        and (focus is None or (word not in focus and focus not in word))
    ]
