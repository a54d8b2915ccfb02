"""Ingestion service: load, split, embed and index note files incrementally.

Uses LangChain's indexing API with the persistent record manager, one call
per file with ``cleanup="incremental"``: unchanged chunks are skipped, an
edited file's old chunks are replaced, and a file that fails to load keeps
whatever it had in the store. Files deleted from an ingested folder lose
their chunks. A file whose bytes and chunking settings are unchanged since
its last ingest is skipped without parsing.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Concatenate, Literal, ParamSpec, TypeVar

from langchain_core.documents import Document
from langchain_core.indexing import index

from rag.ingest.loaders import SUPPORTED_SUFFIXES, LoaderError, ParseLimits, load_file
from rag.ingest.splitter import SPLITTER_VERSION, split_documents
from rag.store.integrity import INTERRUPTED, heal, mark_interrupted  # crash-safety hooks
from rag.store.knowledge_base import KnowledgeBase
from rag.store.locking import write_lock
from rag.store.records import FileRecord, SetAside

logger = logging.getLogger(__name__)

#: Called with (event, payload): ("total", n_files), ("file", FileResult).
ProgressFn = Callable[[str, object], None]
P = ParamSpec("P")
R = TypeVar("R")
#: What happened to one file in an ingest.
FileStatus = Literal["added", "updated", "unchanged", "failed", "set_aside", "deleted"]


@dataclass
class FileResult:
    """Outcome of ingesting one file."""

    source: str
    status: FileStatus
    chunks: int = 0
    pages: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    deleted: int = 0
    error: str | None = None


@dataclass
class IngestReport:
    """Outcome of one ingest run."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def total(self, attr: str) -> int:
        """Sum of a :class:`FileResult` counter over all files."""
        return sum(getattr(f, attr) for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        """Files that could not be ingested."""
        return [f for f in self.files if f.status == "failed"]

    @property
    def set_aside(self) -> list[FileResult]:
        """Files skipped because they failed before and have not changed since."""
        return [f for f in self.files if f.status == "set_aside"]

    @property
    def ok(self) -> bool:
        """True when no file failed in this run (files set aside before do not count)."""
        return not self.failed

    def summary(self) -> str:
        """One line: files, chunk counts, time and throughput."""
        embedded = self.total("added") + self.total("updated")
        rate = embedded / self.seconds if self.seconds > 0 else 0.0
        n_ok = len([f for f in self.files if f.status not in ("failed", "set_aside", "deleted")])
        aside = f", {len(self.set_aside)} set aside" if self.set_aside else ""
        return (
            f"{n_ok} files ingested, {len(self.failed)} failed{aside}: "
            f"chunks added {self.total('added')}, "
            f"updated {self.total('updated')}, skipped {self.total('skipped')}, "
            f"deleted {self.total('deleted')}; {self.seconds:.1f} s, {rate:.1f} chunks/s"
        )


@dataclass
class _Prepared:
    """A file read and split for indexing, or its final result (unchanged or failed)."""

    source: str
    known: FileRecord | None
    fingerprint: str = ""
    chunks: list[Document] = field(default_factory=list)
    result: FileResult | None = None
    set_aside: bool = False  # failed to load: remember it, so later runs skip it


def source_id(path: Path, data_dir: Path) -> str:
    """The ``source`` a file is indexed under.

    Args:
        path: The file.
        data_dir: The knowledge base's data folder.

    Returns:
        The POSIX path relative to ``data_dir``, or the absolute path for
        files outside it.
    """
    resolved = path.resolve()
    try:
        return resolved.relative_to(data_dir.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Expand folders into the supported files below them.

    Args:
        paths: Files and folders.

    Returns:
        ``(files, folders)``: every file to ingest (explicit files are kept
        whatever their type, so that they get an error), and the folders
        that were scanned.
    """
    files: list[Path] = []
    folders: list[Path] = []
    for path in paths:
        path = path.expanduser()
        if path.is_dir():
            folders.append(path.resolve())
            root = path.resolve()
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    if not child.resolve().is_relative_to(root):
                        # A link out of the folder would index (and show) any file on the machine.
                        logger.warning("%s: a link to a file outside %s, not indexed", child, root)
                        continue
                    files.append(child)
        else:
            files.append(path)
    unique = list(dict.fromkeys(f.resolve() if f.exists() else f for f in files))
    return unique, folders


def file_fingerprint(path: Path, chunk_size: int, chunk_overlap: int) -> str:
    """A file's content hash together with the chunking settings and splitter version."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"|{chunk_size}|{chunk_overlap}|{SPLITTER_VERSION}".encode())
    return digest.hexdigest()


# -- write-lock hook (rag/locking.py) -----------------------------------------
def _writes(method: Callable[Concatenate[Ingestor, P], R]) -> Callable[Concatenate[Ingestor, P], R]:
    """Run an :class:`Ingestor` method under the store's write lock (one writer per store)."""

    @functools.wraps(method)
    def locked(ingestor: Ingestor, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with write_lock(ingestor.kb, ingestor.lock_timeout):
            return method(ingestor, *args, **kwargs)

    return locked


# -- end of hook ------------------------------------------------------------


class Ingestor:
    """Ingests files into one :class:`KnowledgeBase`.

    Every write holds the store's write lock (:mod:`rag.store.locking`) and starts by
    healing what an interrupted earlier write left (:func:`rag.store.integrity.heal`).
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        progress: ProgressFn | None = None,
        lock_timeout: float | None = None,
    ) -> None:
        """Create the service.

        Args:
            kb: Target knowledge base.
            progress: Optional callback for progress events.
            lock_timeout: Seconds to wait for another process writing to the store
                (None: the ``INGEST_LOCK_TIMEOUT`` setting); then ``StoreLocked`` is raised.
        """
        self.kb = kb
        self.progress = progress or (lambda event, payload: None)
        self.lock_timeout = lock_timeout
        self._set_aside: dict[str, SetAside] = {}

    @_writes
    def ingest(self, paths: Iterable[Path] | None = None, rebuild: bool = False) -> IngestReport:
        """Ingest files and folders (default: the data dir).

        Args:
            paths: Files or folders; folders are scanned recursively.
            rebuild: Drop the whole store first.

        Returns:
            Per-file results and timing.
        """
        settings = self.kb.settings
        started = time.perf_counter()
        if rebuild:
            logger.info("rebuild: dropping the store at %s", self.kb.location)
            self.kb.reset()
        heal(self.kb)  # crash-safety hook: finish what a killed run left
        targets = list(paths) if paths else [settings.data_dir]
        files, folders = collect_files(targets)
        files += self._interrupted(files)
        report = IngestReport()
        self.progress("total", len(files))
        known = {r.source: r for r in self.kb.record_manager.files()}
        self._set_aside = {a.source: a for a in self.kb.record_manager.set_aside()}
        jobs = [(path, source_id(path, settings.data_dir)) for path in files]
        sources_seen = {source for _, source in jobs}
        # While one file is embedded and indexed, the next one is read, parsed and
        # split in a background thread (parsing big PDFs overlaps the embedding
        # model, which releases the GIL). Results stay in file order; a file's
        # load error, or any exception, surfaces when that file's turn comes.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-prefetch") as pool:

            def prefetch(number: int) -> Future[_Prepared]:
                path, source = jobs[number]
                return pool.submit(self._prepare, path, source, known.get(source))

            ahead = prefetch(0) if jobs else None
            try:
                for number in range(len(jobs)):
                    assert ahead is not None  # one future per job, submitted a turn ahead
                    prepared = ahead.result()
                    ahead = prefetch(number + 1) if number + 1 < len(jobs) else None
                    result = self._index_prepared(prepared)
                    report.files.append(result)
                    self.progress("file", result)
            finally:
                if ahead is not None:
                    ahead.cancel()
        for folder in folders:
            report.files.extend(self._remove_deleted(folder, sources_seen))
        self.kb.sync_lexical()
        report.seconds = time.perf_counter() - started
        return report

    def _interrupted(self, files: list[Path]) -> list[Path]:
        """Files whose last ingest was killed and that this run would not touch otherwise.

        Every write finishes them, so a store is never left half-indexed until
        someone happens to ingest that very file again.
        """
        data_dir = self.kb.settings.data_dir
        planned = {source_id(path, data_dir) for path in files}
        extra = []
        for row in self.kb.record_manager.files():
            path = Path(row.source) if Path(row.source).is_absolute() else data_dir / row.source
            if row.sha256 == INTERRUPTED and row.source not in planned and path.is_file():
                extra.append(path.resolve())
        if extra:
            logger.info("finishing %d file(s) whose last ingest was interrupted", len(extra))
        return extra

    def _ingest_file(
        self, path: Path, source: str, known: FileRecord | None, force: bool = False
    ) -> FileResult:
        return self._index_prepared(self._prepare(path, source, known, force))

    def _prepare(
        self, path: Path, source: str, known: FileRecord | None, force: bool = False
    ) -> _Prepared:
        """Read one file: size check, fingerprint, then load and split unless unchanged.

        Touches nothing in the store, so it may run in the prefetch thread.
        """
        settings = self.kb.settings
        fingerprint = ""
        try:
            if path.is_file():
                fingerprint = file_fingerprint(path, settings.chunk_size, settings.chunk_overlap)
            if known and known.sha256 == fingerprint and not force:
                unchanged = FileResult(
                    source, "unchanged", chunks=known.chunks, pages=known.pages,
                    skipped=known.chunks,
                )  # fmt: skip
                return _Prepared(source, known, result=unchanged)
            aside = self._set_aside.get(source)
            if aside and aside.sha256 == fingerprint and not force:
                skipped = FileResult(source, "set_aside", error=aside.reason)
                return _Prepared(source, known, result=skipped)
            if path.is_file() and path.stat().st_size > settings.max_upload_bytes:
                raise LoaderError(
                    f"{source}: file is {path.stat().st_size / 2**20:.1f} MB, over the "
                    f"{settings.max_upload_mb:g} MB limit (MAX_UPLOAD_MB)"
                )
            limits = ParseLimits(settings.parse_memory_mb, settings.parse_timeout)
            units = load_file(path, source, limits)
            chunks = split_documents(units, settings.chunk_size, settings.chunk_overlap)
            if not chunks:
                raise LoaderError(f"{source}: no text to index")
        except LoaderError as exc:
            failed = FileResult(source, "failed", error=str(exc))
            return _Prepared(source, known, fingerprint, result=failed, set_aside=bool(fingerprint))
        return _Prepared(source, known, fingerprint=fingerprint, chunks=chunks)

    def _index_prepared(self, prepared: _Prepared) -> FileResult:
        """Embed and index a prepared file (in the calling thread, under the write lock)."""
        rm = self.kb.record_manager
        if prepared.result is not None:
            if prepared.result.error:
                logger.info("%s", prepared.result.error)
            if prepared.set_aside:
                entry = SetAside(
                    prepared.source, prepared.fingerprint, prepared.result.error or "", time.time()
                )
                rm.put_set_aside(entry)
                self._set_aside[prepared.source] = entry
            return prepared.result
        source, known, chunks = prepared.source, prepared.known, prepared.chunks
        if source in self._set_aside:
            rm.forget_set_aside(source)
            del self._set_aside[source]
        mark_interrupted(self.kb.record_manager, known, source)  # crash-safety hook
        result = index(
            chunks,
            self.kb.record_manager,
            self.kb.vectorstore,
            cleanup="incremental",
            source_id_key="source",
            key_encoder="sha256",
            # One batch per file: incremental cleanup runs after each batch and would
            # otherwise drop (and re-embed) this file's chunks of later batches.
            batch_size=len(chunks),
        )
        # Sentence vectors for sentence-level similarity at question time (only the
        # sentences not seen before are embedded).
        self.kb.sentence_matrices([c.page_content for c in chunks])
        pages = len({c.metadata.get("page") for c in chunks if c.metadata.get("page")})
        self.kb.record_manager.put_file(
            FileRecord(source, len(chunks), pages, prepared.fingerprint, time.time())
        )
        status: FileStatus = "added" if known is None else "updated"
        if result["num_added"] == 0 and result["num_deleted"] == 0 and known is not None:
            status = "unchanged"
        return FileResult(
            source,
            status,
            chunks=len(chunks),
            pages=pages,
            added=result["num_added"],
            updated=result["num_updated"],
            skipped=result["num_skipped"],
            deleted=result["num_deleted"],
        )

    def _remove_deleted(self, folder: Path, seen: set[str]) -> list[FileResult]:
        """Drop chunks of files that were under ``folder`` and are gone."""
        data_dir = self.kb.settings.data_dir
        prefix = source_id(folder, data_dir)
        results = []
        rm = self.kb.record_manager
        for source in rm.group_ids():
            inside = prefix == "." or source.startswith(prefix.rstrip("/") + "/")
            if not inside or source in seen:
                continue
            path = Path(source) if Path(source).is_absolute() else data_dir / source
            if path.exists():
                continue
            results.append(self.delete_source(source))
        for aside in rm.set_aside():
            path = Path(aside.source)
            path = path if path.is_absolute() else data_dir / aside.source
            if not path.exists():
                rm.forget_set_aside(aside.source)
        return results

    @_writes
    def remove(self, source: str, delete_file: bool = True) -> FileResult:
        """Remove a note from the store and (by default) from the data dir.

        Args:
            source: The source id, as indexed.
            delete_file: Also delete the file when it lives in the data dir.

        Returns:
            A ``deleted`` result.
        """
        heal(self.kb)  # crash-safety hook: adopt orphans so they are removed too
        result = self.delete_source(source)
        self.kb.record_manager.forget_set_aside(source)
        path = self.kb.settings.data_dir / source
        if delete_file and not Path(source).is_absolute() and path.is_file():
            path.unlink()
        self.kb.sync_lexical()
        return result

    @_writes
    def reindex(self, source: str) -> FileResult:
        """Parse, split and index one known source again, from scratch.

        Args:
            source: The source id, as indexed.

        Returns:
            The file's result; its old chunks are kept if it fails to load.
        """
        path = Path(source) if Path(source).is_absolute() else self.kb.settings.data_dir / source
        heal(self.kb)  # crash-safety hook: forget records of lost chunks so they are re-added
        known = {r.source: r for r in self.kb.record_manager.files()}.get(source)
        self._set_aside = {a.source: a for a in self.kb.record_manager.set_aside()}
        result = self._ingest_file(path, source, known, force=True)
        self.kb.sync_lexical()
        return result

    @_writes
    def delete_source(self, source: str) -> FileResult:
        """Remove every chunk of one source from the store.

        Args:
            source: The source id, as indexed.

        Returns:
            A ``deleted`` result with the number of chunks removed.
        """
        rm = self.kb.record_manager
        keys = rm.list_keys(group_ids=[source])
        if keys:
            self.kb.vectorstore.delete(ids=keys)
            rm.delete_keys(keys)
        rm.delete_file(source)
        logger.info("%s: deleted %d chunks", source, len(keys))
        return FileResult(source, "deleted", deleted=len(keys))
