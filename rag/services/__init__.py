"""The service facade that both front ends call, and the types they see.

Front ends import from here only: :class:`NotesQA` and what its methods take
and return.
"""

from rag.answer.chain import AnswerEvent, History
from rag.ingest.loaders import SUPPORTED_SUFFIXES
from rag.ingest.pipeline import FileResult, IngestReport
from rag.services.facade import NotesQA
from rag.services.progress import IngestProgress, UploadOutcome
from rag.store.chroma import StoreError
from rag.store.conversations import ConversationSummary
from rag.store.feedback import Feedback, Rating
from rag.store.integrity import Report
from rag.store.locking import StoreLocked
from rag.store.records import FileRecord
from rag.store.scope import Scope, ScopeError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "AnswerEvent",
    "ConversationSummary",
    "Feedback",
    "FileRecord",
    "FileResult",
    "History",
    "IngestProgress",
    "IngestReport",
    "NotesQA",
    "Rating",
    "Report",
    "Scope",
    "ScopeError",
    "StoreError",
    "StoreLocked",
    "UploadOutcome",
]
