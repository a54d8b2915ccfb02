"""What the facade reports while it works: ingest progress, upload outcomes, the first ingest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from rag.ingest.pipeline import FileStatus, IngestReport

#: What happened to one uploaded file (``pending`` until its ingest is done).
UploadStatus = FileStatus | Literal["pending"]


@dataclass(frozen=True)
class IngestProgress:
    """A snapshot of a running ingest, for progress bars and status boxes."""

    files_total: int = 0
    files_done: int = 0
    chunks_embedded: int = 0
    current: str = ""
    current_chunks: int = 0  # embedded so far for the current file
    waiting: bool = False  # queued behind another ingest

    @property
    def fraction(self) -> float:
        """Estimated share done, between 0 and 1.

        Whole files count by file; the current file, whose chunk count is not
        known before it is split, moves its share forward as chunks are
        embedded without ever completing it.
        """
        if not self.files_total:
            return 0.0
        partial = self.current_chunks / (self.current_chunks + 8)
        return min(1.0, (self.files_done + partial) / self.files_total)


ProgressCallback = Callable[[IngestProgress], None]


@dataclass
class UploadOutcome:
    """What happened to one uploaded file: saved and ingested, or refused."""

    name: str
    status: UploadStatus
    source: str | None = None
    chunks: int = 0
    pages: int = 0
    error: str | None = None
    note: str = ""


@dataclass
class InitialIngest:
    """State of the first ingest of the data dir (when the store was empty)."""

    started: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    progress: IngestProgress = field(default_factory=IngestProgress)
    report: IngestReport | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        """True while the background ingest has not finished."""
        return self.started and not self.done.is_set()
