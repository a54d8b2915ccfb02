"""Where a question may look: chosen notes, and one heading with everything under it.

A :class:`Scope` names notes by source id and, optionally, a heading. A chunk's
``heading`` metadata is its heading path (``"注意力机制 > 多头注意力"``); a scope
heading takes in every chunk whose path holds it as whole segments, so
``"注意力机制"`` takes the section and its subsections and ``"多头注意力"`` that
subsection alone. :func:`resolve_scope` checks a scope against what the store
holds (unknown notes or headings raise :class:`ScopeError`, in Chinese and
English) and :func:`scope_where` turns a resolved scope into a Chroma ``where``
filter. Pure functions: no store is opened here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

#: Separates the levels of a chunk's heading path (see :mod:`rag.ingest.structure`).
HEADING_SEP = " > "


class ScopeError(ValueError):
    """A scope names a note or heading that the store does not hold."""


@dataclass(frozen=True)
class Scope:
    """Notes (source ids; none: every note) and a heading (""; none) to search in."""

    sources: tuple[str, ...] = ()
    heading: str = ""
    #: The chunk headings the scope's heading takes in (filled by :func:`resolve_scope`).
    headings: tuple[str, ...] = field(default=(), compare=False)

    def __bool__(self) -> bool:
        return bool(self.sources or self.heading)

    def as_dict(self) -> dict[str, Any]:
        """The scope as saved with a conversation or an eval line (empty when unscoped)."""
        out: dict[str, Any] = {}
        if self.sources:
            out["source"] = list(self.sources)
        if self.heading:
            out["heading"] = self.heading
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Scope:
        """Read :meth:`as_dict`'s form; ``source`` may be one name or a list.

        Raises:
            ScopeError: ``source`` or ``heading`` of the wrong type.
        """
        data = data or {}
        raw = data.get("source") or []
        if isinstance(raw, str):
            raw = [raw]
        heading = data.get("heading") or ""
        if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
            raise ScopeError(
                "范围的 source 必须是文件名或文件名列表。"
                " Scope 'source' must be a file name or a list of them."
            )
        if not isinstance(heading, str):
            raise ScopeError("范围的 heading 必须是文字。Scope 'heading' must be a string.")
        return cls(tuple(s.strip() for s in raw if s.strip()), heading.strip())

    def describe(self) -> str:
        """The scope in a few words: ``a.md, b.md › 多头注意力`` ("" when unscoped)."""
        notes = ", ".join(self.sources)
        if self.heading:
            return f"{notes} › {self.heading}" if notes else self.heading
        return notes


def heading_matches(chunk_heading: str, heading: str) -> bool:
    """Whether a chunk's heading path lies under ``heading`` (whole segments)."""
    if not heading:
        return True
    path = f"{HEADING_SEP}{chunk_heading}{HEADING_SEP}"
    return f"{HEADING_SEP}{heading.strip()}{HEADING_SEP}" in path


def _find_source(name: str, known: Iterable[str]) -> str | None:
    """The source id that ``name`` names: itself, or the one note with that file name."""
    known = list(known)
    if name in known:
        return name
    by_name = [s for s in known if PurePosixPath(s).name == PurePosixPath(name).name]
    return by_name[0] if len(by_name) == 1 else None


def resolve_scope(
    sources: Sequence[str], heading: str, outline: Mapping[str, Sequence[str]]
) -> Scope:
    """Check a scope against the store's notes and headings.

    Args:
        sources: Notes by source id or file name (none: every note).
        heading: A heading, or a path of headings joined by `` > `` ("": none).
        outline: Each indexed source with its chunks' headings.

    Returns:
        The scope with source ids and the matching chunk headings filled in.

    Raises:
        ScopeError: A note that is not indexed, or a heading none of the
            chosen notes has.
    """
    resolved: list[str] = []
    for name in (s.strip() for s in sources):
        if not name:
            continue
        found = _find_source(name, outline)
        if found is None:
            known = ", ".join(outline) or "—"
            raise ScopeError(
                f"知识库中没有这个文件：{name}（已有：{known}）。"
                f" No such note in the knowledge base: {name} (indexed: {known})."
            )
        if found not in resolved:
            resolved.append(found)
    heading = heading.strip()
    if not heading:
        return Scope(tuple(resolved))
    within = resolved or list(outline)
    matching = sorted({h for s in within for h in outline[s] if h and heading_matches(h, heading)})
    if not matching:
        where = "、".join(resolved) if resolved else "任何笔记"
        where_en = ", ".join(resolved) if resolved else "any note"
        raise ScopeError(f"{where}中没有标题“{heading}”。 No heading '{heading}' in {where_en}.")
    return Scope(tuple(resolved), heading, tuple(matching))


def scope_where(scope: Scope) -> dict[str, Any] | None:
    """The Chroma ``where`` filter of a resolved scope (None: unscoped)."""
    clauses: list[dict[str, Any]] = []
    if scope.sources:
        clauses.append({"source": {"$in": list(scope.sources)}})
    if scope.heading:
        clauses.append({"heading": {"$in": list(scope.headings)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
