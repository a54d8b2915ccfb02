"""The service facade that both front ends call, and the types they see.

Front ends import from here only: :class:`NotesQA` and what its methods take
and return.
"""

from rag.answer.chain import AnswerEvent, History
from rag.ingest.loaders import SUPPORTED_SUFFIXES
from rag.ingest.passages import Excerpt
from rag.ingest.pipeline import FileResult, IngestReport
from rag.services.facade import NotesQA, QuestionError
from rag.services.progress import IngestProgress, UploadOutcome
from rag.services.viewer import PassageContext
from rag.store.chroma import StoreError
from rag.store.conversations import ConversationSummary
from rag.store.feedback import Feedback, Rating
from rag.store.integrity import Report
from rag.store.locking import StoreLocked
from rag.store.records import FileRecord, SetAside
from rag.store.scope import Scope, ScopeError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "AnswerEvent",
    "ConversationSummary",
    "Excerpt",
    "Feedback",
    "FileRecord",
    "FileResult",
    "History",
    "IngestProgress",
    "IngestReport",
    "NotesQA",
    "PassageContext",
    "QuestionError",
    "Rating",
    "Report",
    "Scope",
    "ScopeError",
    "SetAside",
    "StoreError",
    "StoreLocked",
    "UploadOutcome",
]
