"""Repair a store: heal it, re-process what disagrees, re-sync the lexical index, verify.

:func:`repair` is the write side of :mod:`rag.store.integrity`: it parses
note files again, so it belongs to the ingest layer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.ingest.pipeline import Ingestor
from rag.store.integrity import (
    INTERRUPTED,
    Report,
    _n,
    damage,
    heal,
    missing_sources,
    source_path,
    verify,
)
from rag.store.locking import write_lock

if TYPE_CHECKING:
    from rag.store.knowledge_base import KnowledgeBase


def repair(kb: KnowledgeBase, timeout: float | None = None) -> Report:
    """Make the store consistent again, embedding only what is missing, then verify.

    Under the write lock: :func:`heal`; remove the chunks of sources whose
    file is gone; parse again every file that is marked interrupted, has no
    row, miscounts or has duplicate chunks (unchanged chunks are kept, missing
    ones embedded, stale ones deleted); re-sync and save the lexical index.

    Args:
        kb: The knowledge base.
        timeout: Seconds to wait for another writer (None: the default).

    Returns:
        The report of a :func:`verify` after the repair, with ``actions``
        (what was done) and ``before`` (what was found).

    Raises:
        StoreLocked: Another process holds the write lock.
    """
    with write_lock(kb, timeout):
        damaged = damage(kb)
        if damaged is not None:
            return _rebuild(kb, damaged, timeout)
        before = verify(kb)
        if before.ok:
            return before
        actions = heal(kb)
        ingestor = Ingestor(kb, lock_timeout=timeout)
        metas = kb.metadatas()
        gone, _ = missing_sources(kb, metas)
        for source in sorted(gone):
            ingestor.delete_source(source)
        if gone:
            actions.append(f"removed the chunks of {_n(len(gone), 'source')} whose file is gone")

        slots = Counter((m.get("source"), m.get("chunk_index")) for m in metas.values())
        duplicated = {s for (s, index), n in slots.items() if n > 1 and index is not None}
        rm = kb.record_manager
        rows = {r.source: r for r in rm.files()}
        per_source = Counter(g for _, g in rm.all_keys() if g)
        todo = sorted(
            s
            for s in per_source.keys() | rows.keys()
            if s not in gone
            and (
                s not in rows
                or rows[s].sha256 == INTERRUPTED
                or rows[s].chunks != per_source[s]
                or s in duplicated
            )
        )
        for source in todo:
            if source in rows and rows[source].sha256 != INTERRUPTED:
                rm.put_file(replace(rows[source], sha256=INTERRUPTED))
        if todo:
            result = ingestor.ingest([source_path(kb, s) for s in todo])
            actions.append(
                f"re-processed {_n(len(todo), 'file')} "
                f"({_n(result.total('added'), 'chunk')} re-added)"
            )
            actions += [f"could not re-process {f.error}" for f in result.failed]
        lexical = kb.lexical
        if lexical.stale_on_disk():
            lexical.load()
        lexical.sync(kb.store_ids(), kb.fetch_texts)
        lexical.save()
        if before.issue("lexical_mismatch"):
            actions.append("lexical index re-synced with Chroma and saved")
        after = verify(kb)
        after.actions, after.before = actions, before
        return after


def _rebuild(kb: KnowledgeBase, before: Report, timeout: float | None) -> Report:
    """Index the notes again into a fresh index, the damaged files moved aside unread.

    Vectors come from the embedding cache, so nothing is embedded twice.
    """
    unreadable = {"records_unreadable"} & before.kinds or any(
        i.kind == "vector_index" and "cannot" in i.title for i in before.issues
    )
    actions = []
    if unreadable:
        target = kb.set_aside_index("; ".join(i.title for i in before.issues))
        actions.append(f"moved the damaged files to {target}")
    kb.skip_health_check = True
    kb.reset()
    report = Ingestor(kb, lock_timeout=timeout).ingest([kb.settings.data_dir])
    actions.append(
        f"indexed {_n(len(report.files) - len(report.failed), 'note')} again from the data "
        f"folder ({_n(report.total('added'), 'chunk')}, vectors from the cache)"
    )
    actions += [f"could not re-process {f.error}" for f in report.failed]
    after = verify(kb)
    after.actions, after.before = actions, before
    return after
