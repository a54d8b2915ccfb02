"""Guards around the model: instructions hidden in notes, answers that loop.

* :func:`defuse` replaces sentences of a passage that read as instructions to
  the model ("忽略之前的所有指令……") before the passage goes into the prompt;
* :class:`RepeatGuard` spots a streamed answer that starts repeating one of
  its lines (the 1.5B local model sometimes does until ``max_tokens``).
"""

from __future__ import annotations

import re

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
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[。！？!?\n])|(?<=\. )")
INJECTION_PLACEHOLDER = "（此处一句疑似指令的文字已略去）"

_LINE_LABEL_RE = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.、)）]|\[\d{1,2}\])\s*")
#: Lines shorter than this (without their list label) may repeat, e.g. headings.
MIN_REPEATED_LINE = 12


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


class RepeatGuard:
    """Spots a streamed answer that loops: a complete line repeating an earlier one.

    Lines are compared without their list label ("3. ", "- ") and case, and only
    when at least :data:`MIN_REPEATED_LINE` characters long.
    """

    def __init__(self) -> None:
        """Start with an empty answer."""
        self.text = ""
        self.cut: int | None = None
        self._line_start = 0
        self._seen: set[str] = set()

    def feed(self, piece: str) -> bool:
        """Add a streamed piece.

        Args:
            piece: The next piece of the answer.

        Returns:
            True once the answer loops (then :attr:`kept` ends before the repeat).
        """
        self.text += piece
        while self.cut is None:
            end = self.text.find("\n", self._line_start)
            if end < 0:
                break
            key = _LINE_LABEL_RE.sub("", self.text[self._line_start : end]).strip().lower()
            if len(key) >= MIN_REPEATED_LINE and key in self._seen:
                self.cut = self._line_start
            else:
                self._seen.add(key)
                self._line_start = end + 1
        return self.cut is not None

    @property
    def kept(self) -> str:
        """The answer without a repeated line and what followed it."""
        return self.text if self.cut is None else self.text[: self.cut]
