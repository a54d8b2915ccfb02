"""Ratings of answers (👍/👎), in SQLite beside the store (``feedback.sqlite3``).

Each rating keeps what was rated: the question, the passages shown (source,
location, text), the answer, the conversation's scope, the rating, and for a
👎 the reason and the expected answer the student gave, with its owner (the
login name, or "" without ``APP_AUTH``) and time. ``--rebuild`` leaves this
file alone, like the conversations: it is what the student said.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rag.store.sqlite import connect

FEEDBACK_FILE = "feedback.sqlite3"
Rating = Literal["up", "down"]


@dataclass(frozen=True)
class Feedback:
    """One rated answer."""

    id: int
    owner: str
    created_at: float
    rating: Rating
    question: str
    answer: str
    passages: list[dict[str, Any]] = field(default_factory=list)
    scope: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    expected: str = ""
    conversation_id: str = ""


class FeedbackStore:
    """Ratings on one SQLite file."""

    def __init__(self, db_path: Path) -> None:
        """Open (and create) the database."""
        self.db_path = db_path
        self._lock = threading.RLock()
        self._conn = connect(db_path)
        self._conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS feedback (
                id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL,
                created_at REAL NOT NULL, rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
                question TEXT NOT NULL, answer TEXT NOT NULL,
                passages TEXT NOT NULL DEFAULT '[]', scope TEXT NOT NULL DEFAULT '{}',
                reason TEXT NOT NULL DEFAULT '', expected TEXT NOT NULL DEFAULT '',
                conversation_id TEXT NOT NULL DEFAULT '');
            CREATE INDEX IF NOT EXISTS feedback_owner ON feedback (owner, created_at);
            """
        )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def add(
        self,
        owner: str,
        rating: Rating,
        question: str,
        answer: str,
        passages: list[dict[str, Any]],
        scope: dict[str, Any] | None = None,
        conversation_id: str = "",
    ) -> int:
        """Store a rating; returns its id."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO feedback (owner, created_at, rating, question, answer, passages, "
                "scope, conversation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    owner,
                    time.time(),
                    rating,
                    question,
                    answer,
                    json.dumps(passages, ensure_ascii=False),
                    json.dumps(scope or {}, ensure_ascii=False),
                    conversation_id,
                ),
            )
        return int(cur.lastrowid or 0)

    def explain(self, feedback_id: int, owner: str, reason: str, expected: str) -> bool:
        """Add the reason and expected answer to the owner's rating; False if not theirs."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE feedback SET reason=?, expected=? WHERE id=? AND owner=?",
                (reason.strip(), expected.strip(), feedback_id, owner),
            )
        return cur.rowcount == 1

    def list(self, owner: str | None = None, rating: Rating | None = None) -> list[Feedback]:
        """Ratings, oldest first: one owner's or everyone's (None), of one kind or both."""
        sql = (
            "SELECT id, owner, created_at, rating, question, answer, passages, scope, reason, "
            "expected, conversation_id FROM feedback WHERE 1=1"
        )
        args: list[Any] = []
        if owner is not None:
            sql += " AND owner=?"
            args.append(owner)
        if rating is not None:
            sql += " AND rating=?"
            args.append(rating)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id", args).fetchall()
        return [
            Feedback(
                id=r[0],
                owner=r[1],
                created_at=r[2],
                rating=r[3],
                question=r[4],
                answer=r[5],
                passages=list(json.loads(r[6])),
                scope=dict(json.loads(r[7])),
                reason=r[8],
                expected=r[9],
                conversation_id=r[10],
            )
            for r in rows
        ]
