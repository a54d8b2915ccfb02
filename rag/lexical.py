"""BM25 keyword search over jieba tokens, persisted beside the vector store.

The index is kept in step with the Chroma collection by :meth:`LexicalIndex.sync`,
which diffs chunk ids: chunks new to the collection are tokenized, chunks gone
from it are dropped. Nothing is re-tokenized that was tokenized before, and
queries never rebuild anything. Scoring uses an inverted index with NumPy, so a
query costs time in proportion to the postings of its terms, not the corpus.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.glossary import builtin_glossary, mine_pairs

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
_WORD_RE = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)

#: Function words that carry no topic; kept short on purpose.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "有",
        "吗",
        "呢",
        "吧",
        "啊",
        "么",
        "什么",
        "怎么",
        "怎样",
        "如何",
        "为什么",
        "哪些",
        "哪个",
        "一个",
        "这个",
        "那个",
        "这些",
        "那些",
        "就是",
        "可以",
        "能",
        "会",
        "要",
        "也",
        "都",
        "还",
        "而",
        "被",
        "把",
        "对",
        "从",
        "中",
        "上",
        "下",
        "为",
        "以",
        "之",
        "其",
        "等",
        "请",
        "我",
        "你",
        "他",
        "它",
        "我们",
        "你们",
        "它们",
        "呀",
        "哪",
        "多少",
        "区别",
        "有什么",
        "是什么",
        "什么样",
        "时候",
        "进行",
        "通过",
        "使用",
        "用",
        "作用",
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "what",
        "which",
        "how",
        "why",
        "does",
        "do",
        "did",
        "for",
        "on",
        "with",
        "by",
        "as",
        "at",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "from",
        "can",
        "could",
        "should",
        "would",
        "about",
        "into",
        "than",
    ]
)

_jieba_lock = threading.Lock()
_jieba_ready = False


def tokenize(text: str) -> list[str]:
    """Tokenize Chinese/English text for BM25.

    Uses ``jieba.lcut_for_search`` (which also emits the sub-words of long
    words), lower-cases, and drops punctuation and stopwords.

    Args:
        text: Any text.

    Returns:
        The tokens, in order, with repeats.
    """
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    tokens = []
    for token in jieba.lcut_for_search(text.lower()):
        token = token.strip()
        if token and _WORD_RE.search(token) and token not in STOPWORDS:
            tokens.append(token)
    return tokens


class LexicalIndex:
    """An incremental BM25 (Okapi) index keyed by chunk id."""

    def __init__(self, path: Path | None = None, k1: float = 1.5, b: float = 0.75) -> None:
        """Create an empty index; call :meth:`load` to read the saved one.

        Args:
            path: Pickle file that persists the index (None: memory only).
            k1: BM25 term-frequency saturation.
            b: BM25 length normalisation.
        """
        self.path = path
        self.k1, self.b = k1, b
        self._tf: dict[str, Counter[str]] = {}
        self._pairs: dict[str, list[tuple[str, str]]] = {}
        self._glossary: dict[str, list[str]] | None = None
        self._lock = threading.RLock()
        self._dirty = True
        self._mtime: float | None = None

    def __len__(self) -> int:
        return len(self._tf)

    @property
    def ids(self) -> set[str]:
        """Chunk ids in the index."""
        return set(self._tf)

    def add(self, items: Iterable[tuple[str, str]]) -> int:
        """Add or replace chunks.

        Args:
            items: ``(chunk_id, text)`` pairs.

        Returns:
            How many chunks were tokenized.
        """
        count = 0
        with self._lock:
            for chunk_id, text in items:
                self._tf[chunk_id] = Counter(tokenize(text))
                pairs = mine_pairs(text)
                if pairs:
                    self._pairs[chunk_id] = pairs
                else:
                    self._pairs.pop(chunk_id, None)
                count += 1
            self._dirty = self._dirty or count > 0
        return count

    def remove(self, chunk_ids: Iterable[str]) -> int:
        """Drop chunks; unknown ids are ignored.

        Returns:
            How many chunks were removed.
        """
        count = 0
        with self._lock:
            for chunk_id in chunk_ids:
                self._pairs.pop(chunk_id, None)
                if self._tf.pop(chunk_id, None) is not None:
                    count += 1
            self._dirty = self._dirty or count > 0
        return count

    def clear(self) -> None:
        """Remove everything (and the saved file)."""
        with self._lock:
            self._tf.clear()
            self._pairs.clear()
            self._dirty = True
            if self.path is not None and self.path.exists():
                self.path.unlink()

    def sync(self, store_ids: Iterable[str], fetch_texts) -> tuple[int, int]:
        """Bring the index in step with the store's chunk ids.

        Args:
            store_ids: Every chunk id in the vector store.
            fetch_texts: Callable taking a list of ids and returning ``{id: text}``.

        Returns:
            ``(added, removed)`` counts.
        """
        wanted = set(store_ids)
        with self._lock:
            have = set(self._tf)
            removed = self.remove(have - wanted)
            missing = sorted(wanted - have)
            added = 0
            for start in range(0, len(missing), 1000):
                batch = missing[start : start + 1000]
                added += self.add(fetch_texts(batch).items())
        if added or removed:
            logger.info("lexical index: +%d -%d chunks (%d total)", added, removed, len(self))
        return added, removed

    def _build(self) -> None:
        ids = list(self._tf)
        lengths = np.array([sum(self._tf[i].values()) for i in ids], dtype=np.float32)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for row, chunk_id in enumerate(ids):
            for term, freq in self._tf[chunk_id].items():
                docs, freqs = postings.setdefault(term, ([], []))
                docs.append(row)
                freqs.append(freq)
        n = len(ids)
        avgdl = float(lengths.mean()) if n else 1.0
        self._ids = ids
        self._norm = self.k1 * (1 - self.b + self.b * lengths / max(avgdl, 1e-9))
        self._postings = {
            term: (
                np.asarray(docs, dtype=np.int32),
                np.asarray(freqs, dtype=np.float32),
                math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5)),
            )
            for term, (docs, freqs) in postings.items()
        }
        glossary = builtin_glossary()
        for pairs in self._pairs.values():
            for english, chinese in pairs:
                terms = glossary.setdefault(english, [])
                if chinese not in terms:
                    terms.append(chinese)
        self._glossary = glossary
        self._dirty = False

    def glossary(self) -> dict[str, list[str]]:
        """English → Chinese terms: the built-in glossary plus pairs mined from the notes."""
        with self._lock:
            if self._dirty or self._glossary is None:
                self._build()
            return self._glossary  # type: ignore[return-value]

    def doc_freq(self, term: str) -> int:
        """How many chunks contain ``term``."""
        with self._lock:
            if self._dirty:
                self._build()
            posting = self._postings.get(term)
            return 0 if posting is None else len(posting[0])

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top chunks for ``query`` by BM25.

        Args:
            query: The question.
            k: How many results at most.

        Returns:
            ``(chunk_id, score)`` pairs, best first, scores > 0 only.
        """
        terms = tokenize(query)
        with self._lock:
            if self._dirty:
                self._build()
            if not self._ids or not terms:
                return []
            scores = np.zeros(len(self._ids), dtype=np.float32)
            for term, qf in Counter(terms).items():
                posting = self._postings.get(term)
                if posting is None:
                    continue
                docs, freqs, idf = posting
                scores[docs] += qf * idf * freqs * (self.k1 + 1) / (freqs + self._norm[docs])
            k = min(k, int((scores > 0).sum()))
            if k <= 0:
                return []
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(self._ids[i], float(scores[i])) for i in top]

    def save(self) -> None:
        """Write the index atomically to :attr:`path`."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with self._lock:
            payload = {"version": FORMAT_VERSION, "tf": self._tf, "pairs": self._pairs}
            with tmp.open("wb") as fh:
                pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            self._mtime = self.path.stat().st_mtime

    def load(self) -> bool:
        """Read the saved index, if any.

        Returns:
            True when a valid index was read.
        """
        if self.path is None or not self.path.exists():
            return False
        try:
            with self.path.open("rb") as fh:
                payload = pickle.load(fh)
            if payload.get("version") != FORMAT_VERSION:
                raise ValueError("old format")
        except Exception as exc:
            logger.warning(
                "lexical index at %s unreadable (%s); it will be rebuilt", self.path, exc
            )
            self._mtime = self.path.stat().st_mtime
            return False
        with self._lock:
            self._tf = payload["tf"]
            self._pairs = payload.get("pairs", {})
            self._dirty = True
            self._mtime = self.path.stat().st_mtime
        return True

    def stale_on_disk(self) -> bool:
        """Whether another process saved a newer index since we loaded it."""
        if self.path is None or not self.path.exists():
            return False
        return self._mtime is None or self.path.stat().st_mtime != self._mtime
