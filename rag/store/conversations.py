"""Saved conversations, in SQLite beside the store (``conversations.sqlite3``).

A conversation is its owner (the login name, or "" without ``APP_AUTH``), a
title, the chat's messages as shown (JSON) and its scope (the notes and heading
its questions search, JSON; ``{}``: every note). Every read and write names the
owner, so one user never sees, changes or deletes another's conversations.
``--rebuild`` leaves this file alone: it holds what the student said, not
what was indexed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.store.sqlite import connect

CONVERSATIONS_FILE = "conversations.sqlite3"
#: Longest title kept (characters).
MAX_TITLE = 80


@dataclass(frozen=True)
class ConversationSummary:
    """One line of the conversation list."""

    id: str
    title: str
    updated_at: float
    turns: int


class ConversationStore:
    """Conversations by owner, on one SQLite file."""

    def __init__(self, db_path: Path) -> None:
        """Open (and create) the database."""
        self.db_path = db_path
        self._lock = threading.RLock()
        self._conn = connect(db_path)
        self._conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS conversations (
                id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,
                created_at REAL NOT NULL, updated_at REAL NOT NULL,
                turns INTEGER NOT NULL DEFAULT 0, messages TEXT NOT NULL DEFAULT '[]');
            CREATE INDEX IF NOT EXISTS conversations_owner
                ON conversations (owner, updated_at DESC);
            """
        )
        self._migrate()

    def _migrate(self) -> None:
        """Add what older files lack (the ``scope`` column), keeping every row."""
        with self._lock:
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(conversations)")}
            if "scope" not in columns:
                self._conn.execute(
                    "ALTER TABLE conversations ADD COLUMN scope TEXT NOT NULL DEFAULT '{}'"
                )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def create(self, owner: str, title: str) -> str:
        """A new, empty conversation; returns its id."""
        conversation_id = uuid.uuid4().hex
        now = time.time()
        with self._lock:
            self._conn.execute(
                "INSERT INTO conversations (id, owner, title, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation_id, owner, _title(title), now, now),
            )
        return conversation_id

    def save(self, conversation_id: str, owner: str, messages: list[Any], turns: int) -> bool:
        """Replace a conversation's messages; False when it is not the owner's."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE conversations SET messages=?, turns=?, updated_at=? WHERE id=? AND owner=?",
                (
                    json.dumps(messages, ensure_ascii=False),
                    turns,
                    time.time(),
                    conversation_id,
                    owner,
                ),
            )
        return cur.rowcount == 1

    def messages(self, conversation_id: str, owner: str) -> list[Any] | None:
        """A conversation's messages, or None when it is not the owner's."""
        with self._lock:
            row = self._conn.execute(
                "SELECT messages FROM conversations WHERE id=? AND owner=?",
                (conversation_id, owner),
            ).fetchone()
        return None if row is None else list(json.loads(row[0]))

    def scope(self, conversation_id: str, owner: str) -> dict[str, Any] | None:
        """A conversation's scope (``{}``: none), or None when it is not the owner's."""
        with self._lock:
            row = self._conn.execute(
                "SELECT scope FROM conversations WHERE id=? AND owner=?",
                (conversation_id, owner),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0] or "{}"))

    def set_scope(self, conversation_id: str, owner: str, scope: dict[str, Any]) -> bool:
        """Save a conversation's scope; False when it is not the owner's."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE conversations SET scope=? WHERE id=? AND owner=?",
                (json.dumps(scope, ensure_ascii=False), conversation_id, owner),
            )
        return cur.rowcount == 1

    def title(self, conversation_id: str, owner: str) -> str | None:
        """A conversation's title, or None when it is not the owner's."""
        with self._lock:
            row = self._conn.execute(
                "SELECT title FROM conversations WHERE id=? AND owner=?",
                (conversation_id, owner),
            ).fetchone()
        return None if row is None else str(row[0])

    def rename(self, conversation_id: str, owner: str, title: str) -> bool:
        """Give a conversation a new title; False when it is not the owner's."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE conversations SET title=? WHERE id=? AND owner=?",
                (_title(title), conversation_id, owner),
            )
        return cur.rowcount == 1

    def delete(self, conversation_id: str, owner: str) -> bool:
        """Delete a conversation; False when it is not the owner's."""
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM conversations WHERE id=? AND owner=?", (conversation_id, owner)
            )
        return cur.rowcount == 1

    def list(self, owner: str, query: str = "", limit: int = 200) -> list[ConversationSummary]:
        """The owner's conversations, newest first; ``query`` searches titles and messages."""
        sql = "SELECT id, title, updated_at, turns FROM conversations WHERE owner=?"
        args: list[Any] = [owner]
        if query.strip():
            pattern = "%" + query.strip().replace("%", r"\%").replace("_", r"\_") + "%"
            sql += r" AND (title LIKE ? ESCAPE '\' OR messages LIKE ? ESCAPE '\')"
            args += [pattern, pattern]
        sql += " ORDER BY updated_at DESC LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, [*args, limit]).fetchall()
        return [ConversationSummary(r[0], r[1], r[2], r[3]) for r in rows]


def _title(text: str) -> str:
    title = " ".join(text.split())
    return title[:MAX_TITLE] or "新对话 New chat"
