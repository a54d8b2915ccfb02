"""The prompt's evidence: the best sentences of the leading passages, within a token budget.

A few hundred prompt tokens hold one or two whole passages, while a question's
answer is often a sentence or two in each of several. :func:`select_excerpts`
fills the budget with the sentences most similar to the question, taken from
the first :data:`EXCERPT_PASSAGES` passages (each sentence with a small bonus
for its passage's rank), and gives each passage back as its chosen sentences in
their own order, joined by "……" where sentences were left out. A passage with
no sentence chosen is left out of the prompt; the others keep their numbers,
so citations still point at the sources shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Passages whose sentences compete for the budget.
EXCERPT_PASSAGES = 5
#: Subtracted from a sentence's similarity per rank below the first passage.
RANK_PENALTY = 0.01
#: Prompt tokens a passage costs besides its text (its label).
PASSAGE_OVERHEAD = 12
#: Prompt tokens a passage's further sentence costs besides its text ("……" or a space).
JOIN_OVERHEAD = 2
GAP = "……"


@dataclass(frozen=True)
class Candidate:
    """One sentence of a leading passage, with its similarity to the question."""

    passage: int
    position: int
    text: str
    score: float


def select_excerpts(
    sentences: Sequence[Sequence[str]],
    scores: Sequence[Sequence[float]],
    budget: int,
    count_tokens: Callable[[str], int],
    labels: Sequence[int] | None = None,
) -> list[str | None]:
    """Choose the best sentences of each passage that fit ``budget`` tokens together.

    Args:
        sentences: Per passage, its sentences in order.
        scores: Per passage, each sentence's cosine similarity to the question.
        budget: Prompt tokens for all excerpts (their labels included).
        count_tokens: The chat model's token counter.
        labels: Per passage, the tokens of its label in the prompt (default:
            :data:`PASSAGE_OVERHEAD` each); a further sentence of a passage costs
            :data:`JOIN_OVERHEAD` more, for the gap mark or the join.

    Returns:
        Per passage, its excerpt, or None when none of its sentences was chosen.
    """
    candidates = [
        Candidate(p, i, text, score - RANK_PENALTY * p)
        for p, (texts, sims) in enumerate(zip(sentences, scores, strict=True))
        for i, (text, score) in enumerate(zip(texts, sims, strict=True))
    ]
    chosen: dict[int, set[int]] = {}
    left = budget
    for candidate in sorted(candidates, key=lambda c: -c.score):
        label = labels[candidate.passage] if labels is not None else PASSAGE_OVERHEAD
        cost = count_tokens(candidate.text) + (
            label if candidate.passage not in chosen else JOIN_OVERHEAD
        )
        if cost > left:
            continue
        chosen.setdefault(candidate.passage, set()).add(candidate.position)
        left -= cost
    excerpts: list[str | None] = []
    for p, texts in enumerate(sentences):
        picked = sorted(chosen.get(p, ()))
        if not picked:
            excerpts.append(None)
            continue
        parts = []
        for index, position in enumerate(picked):
            if index and position != picked[index - 1] + 1:
                parts.append(GAP)
            parts.append(texts[position])
        excerpts.append(_join(parts))
    return excerpts


def _join(parts: list[str]) -> str:
    out = ""
    for part in parts:
        if out and out[-1].isascii() and out[-1].isalnum() and part[:1].isascii():
            out += " "
        out += part
    return out
