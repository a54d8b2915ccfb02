"""BM25 keyword search over jieba tokens, persisted beside the vector store.

The index is kept in step with the Chroma collection by :meth:`LexicalIndex.sync`,
which diffs chunk ids: chunks new to the collection are tokenized, chunks gone
from it are dropped. Nothing is re-tokenized that was tokenized before.
Scoring uses an inverted index in NumPy arrays (CSR: per term, the rows of the
chunks that contain it and the term's frequency in each), so a query costs
time in proportion to the postings of its terms, not the corpus.

The file beside the store (``lexical.npz``, uncompressed, no pickled objects)
holds those arrays as built, so opening a store only reads them: nothing is
rebuilt, even for 100k chunks. Changes are merged into the arrays on the next
search or save after them.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import numpy as np

from rag.models.dictionary import english_to_chinese
from rag.text.glossary import builtin_glossary, expand_query, mine_pairs
from rag.text.language import has_chinese
from rag.text.tokens import tokenize

logger = logging.getLogger(__name__)

#: Version of the saved file; 3: CSR postings in an ``.npz`` (2 was a pickle of Counters).
FORMAT_VERSION = 3
_FORMAT_NAME = "notes-qa/lexical-bm25"
_EMPTY_I32 = np.zeros(0, dtype=np.int32)
_EMPTY_F32 = np.zeros(0, dtype=np.float32)
#: What :meth:`LexicalIndex._read` returns: ids, vocab, indptr, docs, freqs, lengths, pairs.
_Saved = tuple[
    list[str],
    list[str],
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    dict[str, list[tuple[str, str]]],
]
#: Distinct query parts (words, glossary terms) whose tokens an index remembers.
_QUERY_CACHE_SIZE = 1024


def _tokenize_part(text: str) -> tuple[str, ...]:
    return tuple(tokenize(text))


def _pack(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 byte array plus their lengths in characters (no pickle)."""
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    blob = np.frombuffer("".join(strings).encode("utf-8"), dtype=np.uint8)
    return blob, lengths


def _unpack(blob: np.ndarray, lengths: np.ndarray) -> list[str]:
    """Inverse of :func:`_pack`.

    Raises:
        ValueError: The lengths do not add up to the text.
    """
    text = blob.tobytes().decode("utf-8")
    ends = np.cumsum(lengths, dtype=np.int64).tolist()
    if (ends[-1] if ends else 0) != len(text) or (len(lengths) and int(lengths.min()) < 0):
        raise ValueError("string table does not match its lengths")
    starts = [0, *ends[:-1]] if ends else []
    return [text[s:e] for s, e in zip(starts, ends, strict=True)]


class LexicalIndex:
    """An incremental BM25 (Okapi) index keyed by chunk id.

    The postings are held as a term-major CSR matrix in NumPy arrays (term
    ``t`` owns ``docs[indptr[t]:indptr[t + 1]]`` and the matching ``freqs``)
    and are saved as such, so :meth:`load` reads them back without rebuilding
    anything. :meth:`add` and :meth:`remove` only record the change; the
    postings are merged on the next search (or save) after a change.
    """

    def __init__(
        self,
        path: Path | None = None,
        k1: float = 1.5,
        b: float = 0.75,
    ) -> None:
        """Create an empty index; call :meth:`load` to read the saved one.

        Args:
            path: File that persists the index (an uncompressed ``.npz``; None:
                memory only).
            k1: BM25 term-frequency saturation.
            b: BM25 length normalisation.
        """
        self.path = path
        self.k1, self.b = k1, b
        self._lock = threading.RLock()
        self._mtime: float | None = None
        self._pairs: dict[str, list[tuple[str, str]]] = {}
        self._glossary: dict[str, list[str]] | None = None
        self._dictionary: dict[str, list[str]] | None = None
        self._part_tokens = functools.lru_cache(maxsize=_QUERY_CACHE_SIZE)(_tokenize_part)
        self._set_empty()

    # -- state -----------------------------------------------------------------

    def _set_postings(
        self,
        ids: list[str],
        vocab: list[str],
        indptr: np.ndarray,
        docs: np.ndarray,
        freqs: np.ndarray,
        lengths: np.ndarray,
    ) -> None:
        """Install built postings and forget pending changes (lock held)."""
        self._ids = ids
        self._vocab = vocab
        self._indptr = indptr
        self._docs = docs
        self._freqs = freqs
        self._lengths = lengths
        avgdl = float(lengths.mean()) if len(ids) else 1.0
        self._norm = self.k1 * (1 - self.b + self.b * lengths / max(avgdl, 1e-9))
        self._rows: dict[str, int] | None = None  # id -> row, made on first need
        self._terms: dict[str, int] | None = None  # term -> index, made on first need
        self._cjk_share: float | None = None  # made on first need
        self._dictionary = None  # depends on the vocabulary
        # Changes since the postings were built: rows dropped, chunks (re)tokenized.
        self._dead: set[int] = set()
        self._added: dict[str, Counter[str]] = {}

    def _set_empty(self) -> None:
        """Install empty postings (lock held)."""
        self._set_postings([], [], np.zeros(1, np.int64), _EMPTY_I32, _EMPTY_F32, _EMPTY_F32)

    def _row_of(self) -> dict[str, int]:
        if self._rows is None:
            self._rows = dict(zip(self._ids, range(len(self._ids)), strict=True))
        return self._rows

    def _term_index(self) -> dict[str, int]:
        if self._terms is None:
            self._terms = dict(zip(self._vocab, range(len(self._vocab)), strict=True))
        return self._terms

    def _live_row(self, chunk_id: str) -> int | None:
        """Row of ``chunk_id`` in the built postings, unless it was removed since."""
        row = self._row_of().get(chunk_id)
        return None if row is None or row in self._dead else row

    @property
    def _dirty(self) -> bool:
        return bool(self._dead or self._added)

    def __len__(self) -> int:
        with self._lock:
            if not self._dirty:
                return len(self._ids)
            fresh = sum(1 for i in self._added if self._live_row(i) is None)
            return len(self._ids) - len(self._dead) + fresh

    @property
    def ids(self) -> set[str]:
        """Chunk ids in the index."""
        with self._lock:
            if not self._dirty:
                return set(self._ids)
            dead = self._dead
            kept = {i for row, i in enumerate(self._ids) if row not in dead}
            return kept | self._added.keys()

    # -- changes ---------------------------------------------------------------

    def add(self, items: Iterable[tuple[str, str]]) -> int:
        """Add or replace chunks.

        A replaced chunk keeps its place; new chunks come after the others.

        Args:
            items: ``(chunk_id, text)`` pairs.

        Returns:
            How many chunks were tokenized.
        """
        count = 0
        with self._lock:
            for chunk_id, text in items:
                self._added[chunk_id] = Counter(tokenize(text))
                pairs = mine_pairs(text)
                if pairs:
                    self._pairs[chunk_id] = pairs
                else:
                    self._pairs.pop(chunk_id, None)
                count += 1
            if count:
                self._glossary = self._dictionary = None
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
                found = self._added.pop(chunk_id, None) is not None
                row = self._live_row(chunk_id)
                if row is not None:
                    self._dead.add(row)
                    found = True
                count += found
            if count:
                self._glossary = self._dictionary = None
        return count

    def clear(self) -> None:
        """Remove everything (and the saved file)."""
        with self._lock:
            self._set_empty()
            self._pairs.clear()
            self._glossary = self._dictionary = None
            if self.path is not None and self.path.exists():
                self.path.unlink()

    def sync(
        self, store_ids: Iterable[str], fetch_texts: Callable[[list[str]], dict[str, str]]
    ) -> tuple[int, int]:
        """Bring the index in step with the store's chunk ids.

        Args:
            store_ids: Every chunk id in the vector store.
            fetch_texts: Callable taking a list of ids and returning ``{id: text}``.

        Returns:
            ``(added, removed)`` counts.
        """
        wanted = set(store_ids)
        with self._lock:
            have = self.ids
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
        """Merge the pending changes into the postings (lock held).

        Rows of removed chunks go, replaced chunks keep their row with new
        postings, new chunks get rows at the end; terms left without postings
        are dropped from the vocabulary. Runs in NumPy, in time linear in the
        postings, except for the changed chunks' own terms.
        """
        n_old = len(self._ids)
        alive = np.ones(n_old, dtype=bool)
        alive[list(self._dead)] = False
        replaced: list[tuple[int, Counter[str]]] = []
        appended: list[tuple[str, Counter[str]]] = []
        for chunk_id, counts in self._added.items():
            row = self._live_row(chunk_id)
            if row is None:
                appended.append((chunk_id, counts))
            else:
                replaced.append((row, counts))
        keep_rows = alive.copy()
        for row, _ in replaced:
            keep_rows[row] = False

        # Old rows keep their order; appended rows follow.
        n_alive = int(alive.sum())
        new_row = np.cumsum(alive, dtype=np.int32) - 1
        ids = [i for i, a in zip(self._ids, alive.tolist(), strict=True) if a]
        ids.extend(chunk_id for chunk_id, _ in appended)
        changed = [(int(new_row[row]), c) for row, c in replaced]
        changed.extend((n_alive + k, c) for k, (_, c) in enumerate(appended))
        lengths = np.concatenate([self._lengths[alive], np.zeros(len(appended), np.float32)])

        # Postings of the changed chunks, sorted by term (then by row).
        vocab = list(self._vocab)
        terms = dict(self._term_index())
        flat_terms: list[str] = []
        for row, counts in changed:
            lengths[row] = counts.total()
            flat_terms.extend(counts)
        for term in dict.fromkeys(flat_terms):
            if term not in terms:
                terms[term] = len(vocab)
                vocab.append(term)
        add_t = np.fromiter(map(terms.__getitem__, flat_terms), np.int32, len(flat_terms))
        add_d = np.repeat(
            np.fromiter((row for row, _ in changed), np.int32, len(changed)),
            np.fromiter((len(c) for _, c in changed), np.int64, len(changed)),
        )
        add_f = np.fromiter(
            (f for _, c in changed for f in c.values()), np.float32, len(flat_terms)
        )
        order = np.argsort(add_t, kind="stable")
        add_t, add_d, add_f = add_t[order], add_d[order], add_f[order]

        # Surviving old postings stay in term order; each new posting is inserted
        # at the end of its term's block.
        docs, freqs, indptr = self._docs, self._freqs, self._indptr
        if not keep_rows.all():
            keep = keep_rows[docs]
            kept = np.zeros(len(keep) + 1, dtype=np.int64)
            np.cumsum(keep, out=kept[1:])
            indptr = kept[indptr]
            docs, freqs = docs[keep], freqs[keep]
            if not alive.all():
                docs = new_row[docs]
        grown = np.full(len(vocab) + 1, indptr[-1], dtype=np.int64)
        grown[: len(indptr)] = indptr
        docs = np.insert(docs, grown[add_t + 1], add_d)
        freqs = np.insert(freqs, grown[add_t + 1], add_f)

        df = np.diff(grown) + np.bincount(add_t, minlength=len(vocab))
        used = df > 0
        if not used.all():  # terms of removed chunks only
            vocab = [term for term, u in zip(vocab, used.tolist(), strict=True) if u]
            df = df[used]
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        self._set_postings(ids, vocab, indptr, docs, freqs, lengths)

    def _ensure_built(self) -> None:
        if self._dirty:
            self._build()

    # -- queries ---------------------------------------------------------------

    def query_tokens(self, query: str) -> list[str]:
        """The tokens of a query, as :func:`tokenize` gives them, with a cache.

        Retrieval tokenizes the question together with its glossary terms and
        the support check the question alone; both go through this cache of
        space-separated parts (jieba never joins across a space), so a
        question is tokenized once.

        Args:
            query: A question, possibly followed by expansion terms.

        Returns:
            The tokens, in order, with repeats.
        """
        return [token for part in query.split(" ") if part for token in self._part_tokens(part)]

    def glossary(self) -> dict[str, list[str]]:
        """English → Chinese terms: the built-in glossary plus pairs mined from the notes."""
        with self._lock:
            if self._glossary is None:
                glossary = builtin_glossary()
                for pairs in self._pairs.values():
                    for english, chinese in pairs:
                        terms = glossary.setdefault(english, [])
                        if chinese not in terms:
                            terms.append(chinese)
                self._glossary = glossary
            return self._glossary

    def dictionary(self) -> dict[str, list[str]]:
        """English → Chinese terms for BM25: the glossary, then CC-CEDICT for what it lacks.

        Dictionary words are restricted to the indexed vocabulary, so the
        table is rebuilt when the postings are.
        """
        with self._lock:
            self._ensure_built()
            if self._dictionary is None:
                table = english_to_chinese(frozenset(self._vocab))
                table.update(self.glossary())
                self._dictionary = table
            return self._dictionary

    def translate(self, text: str) -> list[str]:
        """The notes' Chinese words for the English words of ``text`` (:meth:`dictionary`)."""
        return expand_query(text, self.dictionary())

    def cjk_share(self) -> float:
        """Share of the indexed token occurrences that are Chinese words (0 when empty).

        Tells whether the notes are mainly Chinese, so that an English
        question is worth translating before retrieval.
        """
        with self._lock:
            self._ensure_built()
            if self._cjk_share is None:
                n_terms = len(self._vocab)
                term_of = np.repeat(np.arange(n_terms), np.diff(self._indptr))
                per_term = np.bincount(term_of, weights=self._freqs, minlength=n_terms)
                chinese = np.fromiter(map(has_chinese, self._vocab), dtype=bool, count=n_terms)
                total = float(per_term.sum())
                self._cjk_share = float(per_term[chinese].sum()) / total if total else 0.0
            return self._cjk_share

    def doc_freq(self, term: str) -> int:
        """How many chunks contain ``term``."""
        with self._lock:
            self._ensure_built()
            t = self._term_index().get(term)
            return 0 if t is None else int(self._indptr[t + 1] - self._indptr[t])

    def search(
        self, query: str, k: int, only: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Top chunks for ``query`` by BM25.

        Args:
            query: The question.
            k: How many results at most.
            only: Chunk ids to rank among (a scope); None: all. Document
                frequencies stay those of the whole index.

        Returns:
            ``(chunk_id, score)`` pairs, best first, scores > 0 only.
        """
        terms = self.query_tokens(query)
        with self._lock:
            self._ensure_built()
            n = len(self._ids)
            if not n or not terms:
                return []
            index = self._term_index()
            scores = np.zeros(n, dtype=np.float32)
            for term, qf in Counter(terms).items():
                t = index.get(term)
                if t is None:
                    continue
                begin, end = int(self._indptr[t]), int(self._indptr[t + 1])
                docs, freqs = self._docs[begin:end], self._freqs[begin:end]
                df = end - begin
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                scores[docs] += qf * idf * freqs * (self.k1 + 1) / (freqs + self._norm[docs])
            if only is not None:
                rows = self._row_of()
                keep = np.zeros(n, dtype=bool)
                keep[np.fromiter((rows[i] for i in only if i in rows), dtype=np.int64)] = True
                scores[~keep] = 0.0
            k = min(k, int((scores > 0).sum()))
            if k <= 0:
                return []
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(self._ids[i], float(scores[i])) for i in top]

    # -- persistence -----------------------------------------------------------

    def save(self) -> None:
        """Write the index atomically to :attr:`path` (built postings, no pickle)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with self._lock:
            self._ensure_built()
            pair_ids = [i for i, pairs in self._pairs.items() for _ in pairs]
            pair_en = [en for pairs in self._pairs.values() for en, _ in pairs]
            pair_zh = [zh for pairs in self._pairs.values() for _, zh in pairs]
            arrays: dict[str, np.ndarray] = {
                "format": np.array(_FORMAT_NAME),
                "version": np.array(FORMAT_VERSION, dtype=np.int64),
                "indptr": self._indptr,
                "docs": self._docs,
                "freqs": self._freqs,
                "lengths": self._lengths,
            }
            for name, strings in (
                ("ids", self._ids),
                ("vocab", self._vocab),
                ("pair_ids", pair_ids),
                ("pair_en", pair_en),
                ("pair_zh", pair_zh),
            ):
                arrays[name], arrays[f"{name}_len"] = _pack(strings)
            try:
                with tmp.open("wb") as fh:
                    np.savez(fh, allow_pickle=False, **arrays)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)
            self._mtime = self.path.stat().st_mtime

    def load(self) -> bool:
        """Read the saved index, if any; the postings are used as saved.

        An unreadable file (corrupt, truncated, another format or version) is
        left alone and logged; the caller then rebuilds the index from the
        store (:meth:`sync`).

        Returns:
            True when a valid index was read.
        """
        if self.path is None:
            return False
        if not self.path.exists():
            return False
        try:
            state = self._read(self.path)
        except Exception as exc:
            logger.warning(
                "lexical index at %s unreadable (%s); it will be rebuilt", self.path, exc
            )
            self._mtime = self.path.stat().st_mtime
            return False
        ids, vocab, indptr, docs, freqs, lengths, pairs = state
        with self._lock:
            self._set_postings(ids, vocab, indptr, docs, freqs, lengths)
            self._pairs = pairs
            self._glossary = self._dictionary = None
            self._mtime = self.path.stat().st_mtime
        return True

    @staticmethod
    def _read(path: Path) -> _Saved:
        """Read and check a saved index.

        Raises:
            ValueError: Another format or version, or inconsistent arrays.
        """
        with np.load(path, allow_pickle=False) as npz:
            if "format" not in npz.files or str(npz["format"]) != _FORMAT_NAME:
                raise ValueError("not a lexical index file")
            if int(npz["version"]) != FORMAT_VERSION:
                raise ValueError(f"old format (version {int(npz['version'])})")
            data = {name: npz[name] for name in npz.files}
        strings = {
            name: _unpack(data[name], data[f"{name}_len"])
            for name in ("ids", "vocab", "pair_ids", "pair_en", "pair_zh")
        }
        ids, vocab = strings["ids"], strings["vocab"]
        indptr = data["indptr"].astype(np.int64, copy=False)
        docs = data["docs"].astype(np.int32, copy=False)
        freqs = data["freqs"].astype(np.float32, copy=False)
        lengths = data["lengths"].astype(np.float32, copy=False)
        consistent = (
            indptr.ndim == docs.ndim == freqs.ndim == lengths.ndim == 1
            and len(indptr) == len(vocab) + 1
            and int(indptr[0]) == 0
            and int(indptr[-1]) == len(docs) == len(freqs)
            and bool((np.diff(indptr) >= 0).all())
            and len(lengths) == len(ids) == len(set(ids))
            and (not len(docs) or (int(docs.min()) >= 0 and int(docs.max()) < len(ids)))
            and len(strings["pair_ids"]) == len(strings["pair_en"]) == len(strings["pair_zh"])
        )
        if not consistent:
            raise ValueError("inconsistent arrays")
        pairs: dict[str, list[tuple[str, str]]] = {}
        for chunk_id, en, zh in zip(
            strings["pair_ids"], strings["pair_en"], strings["pair_zh"], strict=True
        ):
            pairs.setdefault(chunk_id, []).append((en, zh))
        return ids, vocab, indptr, docs, freqs, lengths, pairs

    def stale_on_disk(self) -> bool:
        """Whether another process saved a newer index since we loaded it."""
        if self.path is None or not self.path.exists():
            return False
        return self._mtime is None or self.path.stat().st_mtime != self._mtime
