"""The one service facade that both front ends (web and command line) call.

:class:`NotesQA` wires one knowledge base together from settings: the store
(:class:`~rag.store.knowledge_base.KnowledgeBase`), the ingestion pipeline,
the hybrid retriever and the streaming answer chain. It answers questions
(as events for the web page, as records for the command line), ingests,
uploads, removes and re-indexes notes, and checks and repairs the store.
Every change to the store (upload, delete, re-index, the first ingest of the
data dir) runs under one lock, so ingests are queued one at a time while
questions keep being answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document

from rag.answer.chain import Answerer, AnswerEvent, History
from rag.ingest.pipeline import (
    FileResult,
    Ingestor,
    IngestReport,
    collect_files,
    file_fingerprint,
    source_id,
)
from rag.ingest.repair import repair
from rag.ingest.uploads import SavedUpload, UploadError, save_upload
from rag.models.files import file_sha256
from rag.retrieval.hybrid import HybridRetriever
from rag.services.feedback import export_lines
from rag.services.progress import IngestProgress, InitialIngest, ProgressCallback, UploadOutcome
from rag.services.records import check_record, source_record, timings_ms
from rag.services.viewer import PassageContext, PassageViewer
from rag.store.chroma import StoreError
from rag.store.conversations import ConversationSummary
from rag.store.feedback import Feedback, Rating
from rag.store.integrity import Report, heal, verify
from rag.store.knowledge_base import KnowledgeBase
from rag.store.locking import StoreLocked, write_lock
from rag.store.scope import Scope, resolve_scope
from rag.text.examples import example_questions
from rag.text.followup import in_context

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

    from rag.config import Settings
    from rag.store.records import FileRecord, SetAside

logger = logging.getLogger(__name__)


class QuestionError(ValueError):
    """A question that is not answered as asked; the message says why, in both languages."""


class NotesQA:
    """Questions, ingestion and store checks over one knowledge base."""

    def __init__(self, kb: KnowledgeBase, answerer: Answerer | None = None) -> None:
        """Wire the services of ``kb``; nothing is loaded until used.

        Args:
            kb: The knowledge base.
            answerer: The answer chain (default: built from the settings on first use).
        """
        self.kb = kb
        self.retriever = HybridRetriever.from_kb(kb)
        self.ingestor = Ingestor(kb)
        self._answerer = answerer
        self.ingest_lock = threading.Lock()
        self.initial = InitialIngest()
        self._initial_lock = threading.Lock()
        self._examples: tuple[int, list[str]] = (-1, [])

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        embeddings: Embeddings | None = None,
        llm: BaseChatModel | None = None,
    ) -> NotesQA:
        """Create every service from settings; nothing is loaded until used.

        Args:
            settings: App settings.
            embeddings: Embedder to use instead of the one settings name.
            llm: Chat model to use instead of the one settings name.

        Returns:
            The wired services.
        """
        services = cls(KnowledgeBase(settings, embeddings=embeddings))
        if llm is not None:
            services._answerer = Answerer.from_settings(settings, services.retriever, llm=llm)
        return services

    @property
    def settings(self) -> Settings:
        """The knowledge base's settings."""
        return self.kb.settings

    @property
    def answerer(self) -> Answerer:
        """The streaming answer chain (built, with its LLM, on first use)."""
        if self._answerer is None:
            self._answerer = Answerer.from_settings(self.settings, self.retriever)
        return self._answerer

    @property
    def embedding_model(self) -> str:
        """The id of the embedding model the store records."""
        return self.kb.embeddings.model_id

    # -- questions ---------------------------------------------------------

    def check_question(self, question: str) -> None:
        """Refuse a question longer than ``MAX_QUESTION_CHARS`` before any work is done on it.

        Raises:
            QuestionError: The question is too long.
        """
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionError(
                f"问题太长（{len(question):,} 字，上限 {limit:,} 字）：请缩短，或拆成几个问题。"
                f"The question is too long ({len(question):,} characters, the limit is "
                f"{limit:,}): shorten it or ask it in parts."
            )

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        scope: Scope | None = None,
        earlier: Sequence[str] = (),
    ) -> list[Document]:
        """Top-k chunks for ``question`` (see :class:`~rag.retrieval.hybrid.HybridRetriever`).

        ``earlier``: the questions asked before it in the same conversation; a
        follow-up is searched together with the last of them (:func:`in_context`).
        """
        self.check_question(question)
        return self.retriever.search(in_context(question, earlier), k, scope)

    def notes_outline(self) -> dict[str, tuple[str, list[str]]]:
        """Each indexed note by source: its title and its headings in file order."""
        return self.kb.outline()

    def resolve_scope(self, sources: Sequence[str] = (), heading: str = "") -> Scope:
        """Check a scope (notes by source id or file name, a heading) against the store.

        Raises:
            ScopeError: A note that is not indexed or a heading they do not have
                (a ``ValueError``, with a message in Chinese and English).
        """
        outline = self.kb.outline()
        return resolve_scope(sources, heading, {s: h for s, (_, h) in outline.items()})

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        use_llm: bool = True,
        qid: str | None = None,
        turns: Sequence[str] = (),
        scope: Scope | None = None,
    ) -> dict[str, Any]:
        """Answer one question and time each step, as a record of the command-line contract.

        Args:
            question: The question.
            k: Passages to retrieve (default: settings).
            use_llm: False to only retrieve (the answer is empty).
            qid: Identifier copied into the record.
            turns: Earlier questions of the same conversation, answered first (with
                the LLM) so that ``question`` is asked as their follow-up; without the
                LLM a follow-up is retrieved together with the last of them.
            scope: Search only these notes / this heading (:meth:`resolve_scope`);
                the record then has a ``scope`` field.

        Returns:
            The record (see :mod:`rag.services.records`) of ``question`` alone.
        """
        for text in (*turns, question):
            self.check_question(text)
        history: list[tuple[str, str]] = []
        if use_llm:
            for turn in turns:
                history.append((turn, self.answerer.answer(turn, history, k, scope).text))
        start = time.perf_counter()
        record: dict[str, Any] = {"id": qid, "question": question, "answer": ""}
        if scope:
            record["scope"] = scope.as_dict()
        timings: dict[str, float] = {}
        docs: list[Document] = []
        retrieved = start
        if use_llm:
            for event in self.answerer.stream(question, history, k, scope):
                if event.kind == "sources":
                    docs, retrieved = event.docs, time.perf_counter()
                    timings["rewrite"] = round(event.rewrite_ms, 1)
                elif event.kind == "done":
                    record["answer"], record["refused"] = event.text, event.refused
                    record["check"] = check_record(event)
        else:
            docs = self.retrieve(question, k, scope, earlier=turns)
            retrieved = time.perf_counter()
        done = time.perf_counter()
        record["sources"] = [source_record(d) for d in docs]
        record["timings_ms"] = timings_ms(start, retrieved, done, timings)
        return record

    def stream_answer(
        self,
        question: str,
        history: History = (),
        k: int | None = None,
        scope: Scope | None = None,
    ) -> Iterator[AnswerEvent]:
        """Answer a question as events: ``sources``, ``token``…, ``done``.

        Args:
            question: The user's question.
            history: Earlier (question, answer) turns.
            k: Passages to retrieve (default: settings).
            scope: Search only these notes / this heading (:meth:`resolve_scope`).

        Yields:
            The answer chain's events.

        Raises:
            QuestionError: The question is too long (before anything is retrieved).
        """
        self.check_question(question)
        yield from self.answerer.stream(question, history, k, scope)

    # -- passages in context ----------------------------------------------

    @cached_property
    def viewer(self) -> PassageViewer:
        """Passages in context and note files (its folder is made on first use)."""
        return PassageViewer(self.kb)

    def passage_context(self, chunk_id: str) -> PassageContext:
        """A cited passage where it stands: its note's section, or its PDF page highlighted.

        Args:
            chunk_id: The chunk's id (each source of an answer carries it).

        Returns:
            The passage in context, with a copy of its note's file to download;
            ``error`` says why there is nothing to show.
        """
        return self.viewer.context(chunk_id)

    def note_file(self, source: str) -> Path | None:
        """A copy of an indexed note's file to download; None for anything else."""
        return self.viewer.download(source)

    # -- listing -----------------------------------------------------------

    def files(self) -> list[FileRecord]:
        """Every indexed file with its chunk and page counts, by source."""
        return self.kb.record_manager.files()

    def chunk_count(self) -> int:
        """Chunks in the store."""
        return self.kb.chunk_count()

    def example_questions(self, limit: int = 4) -> list[str]:
        """Questions made from the headings of the indexed notes, each note in turn.

        Read again only when the number of chunks changes.
        """
        count = self.kb.chunk_count()
        if self._examples[0] != count:
            headings = (
                (str(meta.get("source", "")), str(meta["heading"]))
                for meta in self.kb.metadatas().values()
                if meta.get("heading")
            )
            self._examples = (count, example_questions(headings, limit))
        return list(self._examples[1])

    # -- conversations -----------------------------------------------------

    def conversations(self, owner: str, query: str = "") -> list[ConversationSummary]:
        """The owner's saved conversations, newest first (``query`` searches them)."""
        return self.kb.conversations.list(owner, query)

    def new_conversation(self, owner: str, title: str) -> str:
        """Start a saved conversation; returns its id."""
        return self.kb.conversations.create(owner, title)

    def conversation(self, conversation_id: str, owner: str) -> tuple[str, list[Any]] | None:
        """A saved conversation's title and messages, or None when it is not the owner's."""
        store = self.kb.conversations
        messages = store.messages(conversation_id, owner)
        title = store.title(conversation_id, owner)
        return None if messages is None or title is None else (title, messages)

    def save_conversation(
        self, conversation_id: str, owner: str, messages: list[Any], turns: int
    ) -> bool:
        """Save the messages of the owner's conversation; False when it is not theirs."""
        return self.kb.conversations.save(conversation_id, owner, messages, turns)

    def conversation_scope(self, conversation_id: str, owner: str) -> dict[str, Any] | None:
        """The scope saved with the owner's conversation (``{}``: none), or None if not theirs."""
        return self.kb.conversations.scope(conversation_id, owner)

    def save_conversation_scope(
        self, conversation_id: str, owner: str, scope: dict[str, Any]
    ) -> bool:
        """Save the scope of the owner's conversation (``{}``: every note)."""
        return self.kb.conversations.set_scope(conversation_id, owner, scope)

    def rename_conversation(self, conversation_id: str, owner: str, title: str) -> bool:
        """Rename the owner's conversation."""
        return self.kb.conversations.rename(conversation_id, owner, title)

    def delete_conversation(self, conversation_id: str, owner: str) -> bool:
        """Delete the owner's conversation."""
        return self.kb.conversations.delete(conversation_id, owner)

    # -- feedback ----------------------------------------------------------

    def rate(
        self,
        owner: str,
        rating: Rating,
        question: str,
        answer: str,
        passages: list[dict[str, Any]],
        *,
        scope: dict[str, Any] | None = None,
        conversation_id: str = "",
    ) -> int:
        """Store a 👍 (``up``) or 👎 (``down``) on an answer with what was shown; its id."""
        return self.kb.feedback.add(
            owner, rating, question, answer, passages, scope, conversation_id
        )

    def explain_rating(self, feedback_id: int, owner: str, reason: str, expected: str) -> bool:
        """Add a reason and the expected answer to the owner's rating."""
        return self.kb.feedback.explain(feedback_id, owner, reason, expected)

    def ratings(self, owner: str | None = None, rating: Rating | None = None) -> list[Feedback]:
        """Stored ratings, oldest first (one owner's, or everyone's with None)."""
        return self.kb.feedback.list(owner, rating)

    def export_feedback(self, only: str = "all", owner: str | None = None) -> list[dict[str, Any]]:
        """The ratings as eval lines (:func:`rag.services.feedback.export_lines`)."""
        return export_lines(self.kb.feedback.list(owner), only)

    # -- ingest ------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[Path] | None = None,
        progress: ProgressCallback | None = None,
        *,
        rebuild: bool = False,
        lock_timeout: float | None = None,
    ) -> IngestReport:
        """Ingest files or folders, one ingest at a time.

        Args:
            paths: Files or folders (default: the data dir).
            progress: Called with a snapshot after each file and embedded batch,
                and while waiting for another ingest to finish.
            rebuild: Drop the whole store first.
            lock_timeout: Seconds to wait for another process writing to the
                store (None: the setting); then ``StoreLocked`` is raised.

        Returns:
            The ingest report.
        """
        targets = list(paths) if paths else [self.settings.data_dir]
        files, _ = collect_files(targets)
        data_dir = self.settings.data_dir
        names = [source_id(p, data_dir) for p in files]
        state = IngestProgress(files_total=len(files), current=names[0] if names else "")
        notify = progress or (lambda snapshot: None)
        if not self.ingest_lock.acquire(blocking=False):
            notify(replace(state, waiting=True))
            self.ingest_lock.acquire()
        try:
            notify(state)

            def on_file(event: str, payload: object) -> None:
                nonlocal state
                if event == "file" and isinstance(payload, FileResult):
                    done = min(state.files_done + 1, state.files_total)
                    current = names[done] if done < len(names) else ""
                    state = replace(state, files_done=done, current=current, current_chunks=0)
                    notify(state)

            def on_chunks(n: int) -> None:
                nonlocal state
                state = replace(
                    state,
                    chunks_embedded=state.chunks_embedded + n,
                    current_chunks=state.current_chunks + n,
                )
                notify(state)

            listeners = self.kb.embeddings.listeners
            listeners.append(on_chunks)
            try:
                ingestor = Ingestor(self.kb, progress=on_file, lock_timeout=lock_timeout)
                report = ingestor.ingest(targets, rebuild=rebuild)
            finally:
                listeners.remove(on_chunks)
        finally:
            self.ingest_lock.release()
        logger.info("ingest: %s", report.summary())
        return report

    def upload(
        self, uploads: Iterable[tuple[Path, str]], progress: ProgressCallback | None = None
    ) -> list[UploadOutcome]:
        """Save uploaded files into the data dir and ingest them.

        Args:
            uploads: ``(temp_path, original_name)`` of each uploaded file.
            progress: Progress callback (see :meth:`ingest`).

        Returns:
            One outcome per upload, in order.
        """
        settings = self.settings
        if self.initial.running:
            # Saving into the data dir now would let the first ingest's scan take the file.
            if progress:
                progress(IngestProgress(waiting=True))
            self.wait_initial_ingest()
        outcomes: list[UploadOutcome] = []
        saved: list[tuple[UploadOutcome, SavedUpload]] = []
        for temp_path, name in uploads:
            try:
                upload = save_upload(
                    Path(temp_path), name, settings.data_dir, settings.max_upload_bytes
                )
            except (UploadError, OSError) as exc:
                logger.warning("upload refused: %s", exc)
                outcomes.append(UploadOutcome(name, "failed", error=str(exc)))
                continue
            outcome = UploadOutcome(
                name, "pending", source=source_id(upload.path, settings.data_dir), note=upload.note
            )
            outcomes.append(outcome)
            saved.append((outcome, upload))
        if saved:
            try:
                report = self.ingest([upload.path for _, upload in saved], progress)
            except StoreError as exc:  # e.g. a command-line ingest holds the store
                logger.warning("upload ingest failed: %s", exc)
                for outcome, _ in saved:
                    outcome.status = "failed"
                    outcome.error = f"saved, but not indexed yet: {exc}"
                return outcomes
            results = {r.source: r for r in report.files}
            for outcome, upload in saved:
                result = results.get(outcome.source or "")
                if result is None:
                    outcome.status, outcome.error = "failed", "not ingested"
                    continue
                outcome.status = result.status
                outcome.chunks, outcome.pages, outcome.error = (
                    result.chunks,
                    result.pages,
                    result.error,
                )
                if result.status in ("failed", "set_aside") and not upload.duplicate:
                    self._discard_upload(upload, outcome)
        return outcomes

    def _discard_upload(self, upload: SavedUpload, outcome: UploadOutcome) -> None:
        """Take a new upload that cannot be ingested out of the data dir again.

        It was never in the knowledge base, and the student still has it; left
        in the data dir it would be a file the page does not list.
        """
        with self.ingest_lock:
            self.kb.record_manager.forget_set_aside(outcome.source or "")
            upload.path.unlink(missing_ok=True)
        outcome.status = "failed"
        outcome.error = f"{outcome.error}（未保存 not kept）"
        logger.info("upload %s removed again: %s", upload.path.name, outcome.error)

    def file_digest(self, source: str) -> tuple[str, int] | None:
        """SHA-256 and size of a note's file in the data dir (None: not there)."""
        path = self.settings.data_dir / source
        if Path(source).is_absolute() or not path.is_file():
            return None
        return file_sha256(path), path.stat().st_size

    def set_aside(self) -> list[SetAside]:
        """Files of the data dir that could not be ingested, with the reason."""
        return self.kb.record_manager.set_aside()

    def remove(self, source: str) -> FileResult:
        """Remove a note from the store and the data dir (waits for a running ingest)."""
        with self.ingest_lock:
            return self.ingestor.remove(source)

    def reindex(self, source: str) -> FileResult:
        """Index one note again from scratch (waits for a running ingest)."""
        with self.ingest_lock:
            return self.ingestor.reindex(source)

    # -- store checks ------------------------------------------------------

    def verify(self, lock_timeout: float | None = None) -> Report:
        """Check that Chroma, records, file rows, lexical index and files agree.

        Args:
            lock_timeout: Seconds to wait for a writer, for a consistent snapshot.

        Returns:
            What was found.
        """
        with write_lock(self.kb, lock_timeout):
            return verify(self.kb)

    def repair(self, lock_timeout: float | None = None) -> Report:
        """Fix what :meth:`verify` finds (embedding only what is missing), then verify."""
        with self.ingest_lock:
            return repair(self.kb, timeout=lock_timeout)

    # -- first start -------------------------------------------------------

    def prepare_models(self) -> list[str]:
        """Build what the models need on disk now (the e5 folder, the GGUF), not on first use.

        Returns:
            One line per model: what it is and how long it took.
        """
        lines = []
        started = time.perf_counter()
        self.kb.embeddings.embed_query("预热 warm-up")
        lines.append(
            f"embeddings: {self.kb.embeddings.model_id} on {self.kb.embeddings.engine_name} "
            f"({time.perf_counter() - started:.1f} s)"
        )
        started = time.perf_counter()
        llm = self.answerer.llm
        lines.append(f"chat model: {type(llm).__name__} ({time.perf_counter() - started:.1f} s)")
        return lines

    def start_warm_up(self) -> None:
        """Load the embedder, and the LLM with its system prompt, in the background."""

        def run() -> None:
            try:
                self.kb.embeddings.embed_query("预热 warm-up")
                self.answerer.warm_up()
            except Exception:  # the first question will report the real error
                logger.exception("warm-up failed")

        threading.Thread(target=run, name="warm-up", daemon=True).start()

    def start_initial_ingest(self) -> bool:
        """Ingest the data dir in a background thread if the store lags it.

        That is: the store is empty, or a note in the data dir is new, was
        edited, or was cut by an older splitter, or an indexed note is gone
        (:meth:`stale_sources`). Only the first call does anything; later
        calls return at once.

        Returns:
            True when an initial ingest was started (now or by an earlier call).
        """
        with self._initial_lock:
            if self.initial.started or self.initial.done.is_set():
                return self.initial.started
            try:
                self._heal_at_start()
                stale = self.stale_sources()
            except Exception as exc:
                logger.exception("cannot open the knowledge base")
                self.initial.error = str(exc)
                self.initial.done.set()
                return False
            if not stale:
                self.initial.done.set()
                return False
            self.initial.started = True
        thread = threading.Thread(target=self._run_initial_ingest, name="initial-ingest")
        thread.daemon = True
        thread.start()
        return True

    def _heal_at_start(self) -> None:
        """Undo what a killed write left (orphan chunks, unlisted files) before anything is read.

        Skipped, with a log line, while another process writes the store: its
        own start healed it.
        """
        try:
            with write_lock(self.kb, 0):
                heal(self.kb)
        except StoreLocked:
            logger.info("another process is writing the store; not healing it now")

    def stale_sources(self) -> list[str]:
        """Notes of the data dir that the store does not hold as they are now.

        New, edited (or cut by an older splitter) and deleted notes; files are
        hashed, nothing is parsed.
        """
        settings = self.settings
        files, _ = collect_files([settings.data_dir])
        rows = {r.source: r.sha256 for r in self.kb.record_manager.files()}
        stale = []
        for path in files:
            source = source_id(path, settings.data_dir)
            if rows.pop(source, None) != file_fingerprint(
                path, settings.chunk_size, settings.chunk_overlap
            ):
                stale.append(source)
        gone = [s for s in rows if not Path(s).is_absolute()]
        return stale + gone

    def _run_initial_ingest(self) -> None:
        logger.info("the store lags the notes: ingesting %s", self.settings.data_dir)

        def on_progress(snapshot: IngestProgress) -> None:
            self.initial.progress = snapshot

        try:
            self.initial.report = self.ingest(None, on_progress)
        except Exception as exc:
            logger.exception("initial ingest failed")
            self.initial.error = str(exc)
        finally:
            self.initial.done.set()

    def wait_initial_ingest(self, timeout: float | None = None) -> bool:
        """Wait for the first ingest (if any) to finish.

        Args:
            timeout: Seconds to wait at most (None: no limit).

        Returns:
            True when no initial ingest is running any more.
        """
        if not self.initial.started:
            return True
        return self.initial.done.wait(timeout)
