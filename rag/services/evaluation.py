"""Retrieval and answer metrics for the eval command (pure functions)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from rag.answer.facts import unsupported_figures

_SPACE_RE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Remove all whitespace and lower-case, for substring matching."""
    return _SPACE_RE.sub("", text).lower()


def is_hit(source: dict[str, Any], gold: dict[str, Any]) -> bool:
    """Whether one retrieved chunk answers a gold question.

    A hit contains one of the gold ``evidence`` strings (whitespace
    normalized), or has the gold ``source`` file name and ``page``.

    Args:
        source: A retrieved chunk: ``text``, ``source``, ``page``.
        gold: The eval line: ``evidence``, ``source``, ``page``.

    Returns:
        True for a hit.
    """
    text = normalize(source.get("text", ""))
    if any(normalize(e) and normalize(e) in text for e in gold.get("evidence") or []):
        return True
    gold_source, gold_page = gold.get("source"), gold.get("page")
    if gold_source and gold_page is not None:
        same_file = (
            PurePosixPath(str(source.get("source", ""))).name
            == PurePosixPath(str(gold_source)).name
        )
        return same_file and source.get("page") == gold_page
    return False


def first_hit_rank(sources: Sequence[dict[str, Any]], gold: dict[str, Any]) -> int | None:
    """1-based rank of the first hit, or None."""
    for position, source in enumerate(sources, start=1):
        if is_hit(source, gold):
            return position
    return None


def keyword_coverage(answer: str, keywords: Sequence[Sequence[str]]) -> float | None:
    """Share of keyword groups with at least one alternative in the answer.

    Args:
        answer: Generated answer.
        keywords: Groups of alternative terms.

    Returns:
        Coverage in [0, 1], or None when there are no keywords.
    """
    if not keywords:
        return None
    low = normalize(answer)
    found = sum(1 for group in keywords if any(normalize(term) in low for term in group))
    return found / len(keywords)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(golds: Sequence[dict[str, Any]], records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate metrics over a batch.

    Args:
        golds: Eval input lines.
        records: Output records, same order.

    Returns:
        ``n``, ``hit@1/2/3/5``, ``mrr`` (over questions with gold evidence or
        source), ``keyword_coverage`` (over answered questions with keywords),
        ``refusal`` rates and ``unsupported_figures`` (the share of answers
        stating a number or Latin-script name that no passage shown holds)
        when answers were generated, and retrieval latency percentiles.
    """
    ranks: list[int | None] = []
    coverages: list[float] = []
    answered = with_unsupported = 0
    refused_answerable = refused_unanswerable = n_answerable = n_unanswerable = 0
    for gold, rec in zip(golds, records, strict=True):
        if rec.get("answer") and not rec.get("refused"):
            answered += 1
            shown = [str(s.get("text", "")) for s in rec.get("sources", [])]
            question = str(rec.get("question", ""))
            with_unsupported += bool(unsupported_figures(rec["answer"], shown, question))
        if gold.get("answerable", True) is False:
            n_unanswerable += 1
            refused_unanswerable += bool(rec.get("refused"))
            continue
        n_answerable += 1
        refused_answerable += bool(rec.get("refused"))
        if gold.get("evidence") or gold.get("source"):
            ranks.append(first_hit_rank(rec["sources"], gold))
        if rec.get("answer") and not rec.get("refused"):
            cov = keyword_coverage(rec["answer"], gold.get("keywords") or [])
            if cov is not None:
                coverages.append(cov)
    n = len(ranks)
    out: dict[str, Any] = {"n": len(records), "n_scored": n}
    for k in (1, 2, 3, 5):
        out[f"hit@{k}"] = round(sum(1 for r in ranks if r and r <= k) / n, 4) if n else None
    out["mrr"] = round(sum(1 / r for r in ranks if r) / n, 4) if n else None
    if coverages:
        out["keyword_coverage"] = round(sum(coverages) / len(coverages), 4)
    if any("refused" in r for r in records):
        out["refused_answerable"] = round(refused_answerable / max(n_answerable, 1), 4)
        if n_unanswerable:
            out["refused_unanswerable"] = round(refused_unanswerable / n_unanswerable, 4)
        out["unsupported_figures"] = round(with_unsupported / answered, 4) if answered else 0.0
    latencies = [r["timings_ms"]["retrieve"] for r in records]
    out["retrieve_ms_p50"] = round(percentile(latencies, 50), 1)
    out["retrieve_ms_p95"] = round(percentile(latencies, 95), 1)
    return out
