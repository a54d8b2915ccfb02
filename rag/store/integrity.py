"""Check and restore the agreement of Chroma, the record manager and the lexical index.

An ingest writes in this order, per file: the file row is marked interrupted
(:func:`mark_interrupted`), chunks go into Chroma, then their keys into the
record manager, then stale chunks are deleted (Chroma first, records second),
then the file row gets its real fingerprint; the lexical index is synced and
saved once at the end of the run. A process killed anywhere in between leaves:

* chunks in Chroma without a record (*orphans*): killed between the Chroma
  write and the record write;
* records whose chunk is gone (*dangling records*): killed between a Chroma
  delete and the record delete, or in a ``--rebuild`` between dropping the
  collection and clearing the records;
* a file row marked interrupted, missing, or whose chunk count differs from
  its records: killed before the row was written;
* a lexical index file that lags Chroma: killed before the end of the run.

:func:`heal` runs at the start of every write (under the write lock) and
repairs the first three cheaply: an orphan whose id is the hash of its own
text and metadata is *adopted* (given its record, so it is not embedded
again), any other orphan is deleted, dangling records are forgotten, and the
file rows of every source touched are marked interrupted or dropped, so the
file is parsed again and only its missing chunks are embedded. The lexical
index catches up by id diff at the end of the run.

:func:`verify` reports every disagreement; :func:`repair` heals, re-processes
the affected files, removes chunks whose source file is gone, re-syncs the
lexical index, and verifies again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.store.records import FileRecord

if TYPE_CHECKING:
    from rag.store.knowledge_base import KnowledgeBase
    from rag.store.records import SQLiteRecordManager

logger = logging.getLogger(__name__)

#: The ``sha256`` of a file row whose ingest started and has not finished.
INTERRUPTED = "interrupted"
#: Examples shown per problem.
MAX_EXAMPLES = 5


def chunk_key(text: str, metadata: dict[str, Any]) -> str:
    """The id LangChain's indexing API gives a chunk with ``key_encoder="sha256"``.

    Args:
        text: The chunk text.
        metadata: Its metadata.

    Returns:
        ``sha256(sha256(text) + sha256(json(metadata, sorted keys)))`` in hex.
    """

    def digest(value: str) -> str:
        return hashlib.sha256(value.encode("utf-8")).hexdigest()

    return digest(digest(text) + digest(json.dumps(metadata, sort_keys=True)))


def mark_interrupted(
    record_manager: SQLiteRecordManager, known: FileRecord | None, source: str = ""
) -> None:
    """Mark a file row as being (re-)indexed, so a kill before it is rewritten is noticed.

    Called just before a file's chunks are written. Without it, a file edited
    while its ingest was killed and then edited back would match its old
    fingerprint and be skipped with a mix of both versions in the store; and a
    new file killed half-way would have chunks but no row, invisible to the
    page (which lists rows) while answers cite it.

    Args:
        record_manager: The record manager.
        known: The file's current row (None: a new file).
        source: The file's source id, for a new file's row.
    """
    if known is None:
        if source:
            record_manager.put_file(FileRecord(source, 0, 0, INTERRUPTED, time.time()))
    elif known.sha256 != INTERRUPTED:
        record_manager.put_file(replace(known, sha256=INTERRUPTED))


def source_path(kb: KnowledgeBase, source: str) -> Path:
    """The file a source id points to."""
    path = Path(source)
    return path if path.is_absolute() else kb.settings.data_dir / source


@dataclass
class Issue:
    """One kind of disagreement, with a count and a few examples."""

    kind: str
    title: str
    count: int
    examples: list[str] = field(default_factory=list)
    more: bool = False  # there are more examples than shown

    def line(self) -> str:
        """One line: title, count and examples."""
        shown = ", ".join(self.examples) + (", ..." if self.more else "")
        return f"{self.title}: {self.count}" + (f", e.g. {shown}" if self.examples else "")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


@dataclass
class Report:
    """What :func:`verify` found (and, after :func:`repair`, what was done)."""

    store: str
    chunks: int = 0
    records: int = 0
    files: int = 0
    lexical: int = 0
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    before: Report | None = None

    @property
    def ok(self) -> bool:
        """True when the store is consistent."""
        return not self.issues

    def issue(self, kind: str) -> Issue | None:
        """The issue of one kind, if found."""
        return next((i for i in self.issues if i.kind == kind), None)

    @property
    def kinds(self) -> set[str]:
        """Kinds of the issues found."""
        return {i.kind for i in self.issues}

    def lines(self) -> list[str]:
        """The report as printable lines."""
        out = [
            f"store {self.store}: {self.chunks} chunks in Chroma, {self.records} records, "
            f"{self.files} file rows, {self.lexical} lexical entries"
        ]
        if self.before is not None and not self.before.ok:
            out.append(f"found {_n(len(self.before.issues), 'problem')}:")
            out += [f"  {issue.line()}" for issue in self.before.issues]
        if self.actions:
            out.append("repaired: " + "; ".join(self.actions))
        out += self.notes
        out += [issue.line() for issue in self.issues]
        if self.ok:
            out.append("consistent: Chroma, records, file rows and lexical index agree")
        else:
            out.append(
                f"INCONSISTENT: {_n(len(self.issues), 'problem')}; "
                "fix with: python -m rag.ingest --repair"
            )
        return out

    def text(self) -> str:
        """The report as text."""
        return "\n".join(self.lines())


# -- reading the store ------------------------------------------------------


def _short(chunk_id: str) -> str:
    return chunk_id[:12]


def _lexical_ids(kb: KnowledgeBase) -> set[str]:
    """Ids in the lexical index as saved on disk (reloaded when another process saved it)."""
    lexical = kb.lexical
    if lexical.stale_on_disk():
        lexical.load()
    if lexical.path is not None and not lexical.path.exists():
        return set()
    return lexical.ids


# -- heal ---------------------------------------------------------------------


def heal(kb: KnowledgeBase) -> list[str]:
    """Undo what an interrupted write left, cheaply; call it under the write lock.

    Orphan chunks whose id matches their content are adopted (recorded under
    their ``source``), other orphans deleted; records without a chunk are
    forgotten; file rows of every source touched, and rows whose chunk count
    disagrees with their records, are marked interrupted (or dropped when the
    source has no records left and its file is gone), so the next ingest parses
    the file again and embeds only what is missing. Costs one listing of ids
    when nothing is wrong.

    Args:
        kb: The knowledge base.

    Returns:
        What was done, for messages (empty when the store was consistent).
    """
    rm = kb.record_manager
    chroma_ids = set(kb.store_ids())
    records = dict(rm.all_keys())
    actions: list[str] = []
    touched: set[str] = set()

    orphans = sorted(chroma_ids - records.keys())
    if orphans:
        adopted_keys: list[str] = []
        adopted_groups: list[str] = []
        bad: list[str] = []
        for chunk_id, text, meta in kb.chunks(orphans):
            source = meta.get("source")
            if source and text is not None and chunk_key(text, meta) == chunk_id:
                adopted_keys.append(chunk_id)
                adopted_groups.append(source)
            else:
                bad.append(chunk_id)
        if adopted_keys:
            rm.update(adopted_keys, group_ids=adopted_groups)
            touched.update(adopted_groups)
            records.update(zip(adopted_keys, adopted_groups, strict=True))
            actions.append(f"adopted {_n(len(adopted_keys), 'orphan chunk')}")
        if bad:
            kb.vectorstore.delete(ids=bad)
            actions.append(f"deleted {_n(len(bad), 'orphan chunk')} not matching their id")

    dangling = sorted(records.keys() - chroma_ids)
    if dangling:
        touched.update(g for g in (records[k] for k in dangling) if g)
        rm.delete_keys(dangling)
        for key in dangling:
            del records[key]
        actions.append(f"forgot {_n(len(dangling), 'record')} with no chunk")

    per_source = Counter(g for g in records.values() if g)
    rows = {row.source for row in rm.files()}
    unlisted = sorted(set(per_source) - rows)
    for source in unlisted:  # chunks of a file whose first ingest was killed
        if source_path(kb, source).is_file():
            rm.put_file(FileRecord(source, per_source[source], 0, INTERRUPTED, time.time()))
        else:
            keys = [k for k, g in records.items() if g == source]
            kb.vectorstore.delete(ids=keys)
            rm.delete_keys(keys)
            for key in keys:
                del records[key]
            del per_source[source]
    if unlisted:
        actions.append(f"listed {_n(len(unlisted), 'file')} whose first ingest was interrupted")
    dropped, marked = 0, 0
    for row in rm.files():
        have = per_source.get(row.source, 0)
        if have == 0 and not source_path(kb, row.source).is_file():
            rm.delete_file(row.source)  # nothing in the store, nothing to ingest again
            dropped += 1
        elif (row.source in touched or have != row.chunks) and row.sha256 != INTERRUPTED:
            rm.put_file(replace(row, sha256=INTERRUPTED))
            marked += 1
    if dropped:
        actions.append(f"dropped {_n(dropped, 'file row')} with no chunks")
    if marked:
        actions.append(f"marked {_n(marked, 'file')} for re-processing")
    if actions:
        logger.warning("store healed after an interrupted write: %s", "; ".join(actions))
    return actions


# -- verify -------------------------------------------------------------------


def damage(kb: KnowledgeBase) -> Report | None:
    """A report of damage to the store's files, found without loading them; None when sound.

    The record database must pass SQLite's check, and the vector index must
    find sampled chunks by their own vectors (:func:`rag.store.health.probe`,
    in a child process when this one has not opened the store).
    """
    from rag.store.health import probe
    from rag.store.records import RECORDS_FILE, records_readable

    report = Report(kb.location)
    records_file = kb.settings.vectorstore_dir / RECORDS_FILE
    if not records_readable(records_file):
        report.issues.append(
            Issue("records_unreadable", "the record database is damaged", 1, [str(records_file)])
        )
    health = probe(kb.settings, kb.embeddings.model_id)
    if not health.ok:
        report.issues.append(Issue("vector_index", health.problem, 1))
    if not report.issues:
        return None
    logger.error("store %s is damaged: %s", kb.location, "; ".join(i.title for i in report.issues))
    return report


def verify(kb: KnowledgeBase) -> Report:
    """Compare Chroma, the record manager, the file rows, the lexical index and the files.

    Read-only; take :func:`~rag.store.locking.write_lock` around it for a snapshot
    that no other process is changing.

    Args:
        kb: The knowledge base.

    Returns:
        The counts and every disagreement found.
    """
    damaged = damage(kb)
    if damaged is not None:
        return damaged
    rm = kb.record_manager
    metas = kb.metadatas()
    records = dict(rm.all_keys())
    rows = {r.source: r for r in rm.files()}
    lexical = _lexical_ids(kb)
    report = Report(
        kb.location,
        chunks=len(metas),
        records=len(records),
        files=len(rows),
        lexical=len(lexical),
    )

    def flag(
        kind: str,
        title: str,
        items: Sequence[Any],
        show: Callable[[Any], str] = str,
        count: int | None = None,
    ) -> None:
        if items:
            examples = [show(item) for item in items[:MAX_EXAMPLES]]
            total = len(items) if count is None else count
            more = len(items) > MAX_EXAMPLES
            report.issues.append(Issue(kind, title, total, examples, more))

    def label(chunk_id: str) -> str:
        meta = metas.get(chunk_id) or {}
        where = meta.get("source") or records.get(chunk_id) or "?"
        index = meta.get("chunk_index")
        return f"{_short(chunk_id)} ({where}" + (f" #{index})" if index is not None else ")")

    flag(
        "orphan_chunks",
        "orphan chunks in Chroma (no record)",
        sorted(metas.keys() - records.keys()),
        label,
    )
    flag(
        "dangling_records",
        "records with no chunk in Chroma",
        sorted(records.keys() - metas.keys()),
        label,
    )

    slots: dict[tuple[str | None, object], list[str]] = defaultdict(list)
    for chunk_id, meta in metas.items():
        if meta.get("chunk_index") is not None:
            slots[(meta.get("source"), meta["chunk_index"])].append(chunk_id)
    duplicates = sorted((key, len(ids)) for key, ids in slots.items() if len(ids) > 1)
    flag(
        "duplicate_chunks",
        "duplicate chunks (same source and chunk_index)",
        duplicates,
        lambda d: f"{d[0][0]} #{d[0][1]} x{d[1]}",
        sum(n - 1 for _, n in duplicates),
    )

    per_source = Counter(m.get("source") for m in metas.values() if m.get("source"))
    flag(
        "interrupted_files",
        "files whose last ingest was interrupted",
        sorted(s for s, r in rows.items() if r.sha256 == INTERRUPTED),
    )
    miscounted = sorted(
        (s, r.chunks, per_source[s]) for s, r in rows.items() if r.chunks != per_source[s]
    )
    flag(
        "file_count_mismatch",
        "file rows whose chunk count differs from Chroma",
        miscounted,
        lambda m: f"{m[0]}: row {m[1]}, Chroma {m[2]}",
    )
    flag(
        "missing_file_rows",
        "sources with chunks but no file row",
        sorted(per_source.keys() - rows.keys()),
        lambda s: f"{s} ({per_source[s]} chunks)",
    )

    chroma_ids = set(metas)
    missing, extra = sorted(chroma_ids - lexical), sorted(lexical - chroma_ids)
    flag(
        "lexical_mismatch",
        f"lexical index ids differ from Chroma ids ({len(missing)} missing, {len(extra)} extra)",
        [f"missing {label(i)}" for i in missing[:3]] + [f"extra {_short(i)}" for i in extra[:2]],
        count=len(missing) + len(extra),
    )
    if report.issues and report.issues[-1].kind == "lexical_mismatch":
        report.issues[-1].more = len(missing) > 3 or len(extra) > 2

    gone, notes = missing_sources(kb, metas)
    report.notes += notes
    flag(
        "missing_sources",
        "chunks whose source file is gone",
        sorted(gone.items()),
        lambda g: f"{g[0]} ({g[1]} chunks)",
        sum(gone.values()),
    )
    return report


def missing_sources(
    kb: KnowledgeBase, metas: dict[str, dict[str, Any]]
) -> tuple[dict[str, int], list[str]]:
    """Sources with chunks in the store whose file no longer exists.

    A missing folder is not taken for deleted notes (a mistyped ``DATA_DIR``,
    an unmounted drive): relative sources are only checked when the data dir
    exists, absolute ones when their folder does.

    Returns:
        ``({source: chunks}, notes)``.
    """
    chunks = Counter(str(m["source"]) for m in metas.values() if m.get("source"))
    data_dir_ok = kb.settings.data_dir.is_dir()
    unchecked: Counter[str] = Counter()
    gone: dict[str, int] = {}
    for source, n in chunks.items():
        path = source_path(kb, source)
        if Path(source).is_absolute():
            if not path.parent.is_dir():
                unchecked[path.parent.as_posix()] += 1
                continue
        elif not data_dir_ok:
            unchecked[kb.settings.data_dir.as_posix()] += 1
            continue
        if not path.is_file():
            gone[source] = n
    notes = [
        f"note: folder {folder} does not exist; {_n(n, 'source')} in it not checked"
        for folder, n in sorted(unchecked.items())
    ]
    return gone, notes
