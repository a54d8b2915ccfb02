"""Save uploaded note files into the data dir safely.

File names are reduced to a safe base name (no folders, no traversal, no
control or look-alike characters); the type must be allowed and match the
content; the size is limited; an upload never silently overwrites a
different file of the same name: it is saved under a numbered name instead.
"""

from __future__ import annotations

import logging
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.loaders import PDF_SUFFIXES, SUPPORTED_SUFFIXES
from rag.models.files import file_sha256

logger = logging.getLogger(__name__)

_UNSAFE_RE = re.compile(r"[^\w\u4e00-\u9fff.\- ()（）]+")
_MAX_NAME = 120


class UploadError(Exception):
    """An upload that is refused; the message says why."""


@dataclass(frozen=True)
class SavedUpload:
    """Where an upload went."""

    original_name: str
    path: Path
    note: str = ""  # e.g. "renamed: a file with this name already exists"
    duplicate: bool = False  # identical to the file already there


def safe_filename(name: str) -> str:
    r"""Reduce an uploaded name to a safe base name.

    Drops any folder part (``../../x.md`` → ``x.md``, ``C:\a\b.md`` → ``b.md``),
    normalizes Unicode (NFKC folds full-width and look-alike forms), removes
    control characters and anything but letters, digits, CJK, ``. - _ ( )``
    and spaces, and refuses hidden or empty names.

    Args:
        name: The name the browser or user gave.

    Returns:
        A safe file name.

    Raises:
        UploadError: Nothing usable remains.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE_RE.sub("_", base).strip(" ._")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[: _MAX_NAME - len(suffix) - 1].strip(" ._") if stem else ""
    if not stem:
        raise UploadError(f"'{name}': not a usable file name")
    return f"{stem}.{suffix.lower()}" if suffix else stem


def check_content(path: Path, display: str) -> None:
    """Refuse content that does not match its extension.

    Raises:
        UploadError: A ``.pdf`` without the PDF header, or a text file with binary bytes.
    """
    head = path.read_bytes()[:4096]
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        if not head.lstrip().startswith(b"%PDF"):
            raise UploadError(f"{display}: named .pdf but is not a PDF file")
    elif b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadError(f"{display}: binary content, not a text file")


def save_upload(src: Path, original_name: str, data_dir: Path, max_bytes: int) -> SavedUpload:
    """Validate an uploaded temp file and copy it into ``data_dir``.

    Args:
        src: The uploaded file on disk (e.g. Gradio's temp file).
        original_name: The name the user gave it.
        data_dir: The knowledge base's data folder.
        max_bytes: Size limit.

    Returns:
        Where it was saved, with a note when renamed or identical to an existing file.

    Raises:
        UploadError: Bad name, type, size or content.
    """
    name = safe_filename(original_name)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(
            f"{original_name}: unsupported file type '{suffix or '(none)'}'; "
            f"upload {', '.join(sorted(SUPPORTED_SUFFIXES))} files"
        )
    size = src.stat().st_size
    if size == 0:
        raise UploadError(f"{original_name}: the file is empty")
    if size > max_bytes:
        raise UploadError(
            f"{original_name}: {size / 2**20:.1f} MB is over the {max_bytes / 2**20:g} MB limit"
        )
    check_content(src, original_name)
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / name
    note = ""
    if target.exists():
        if file_sha256(target) == file_sha256(src):
            return SavedUpload(original_name, target, "identical to the note already there", True)
        stem, number = target.stem, 2
        while (data_dir / f"{stem} ({number}){suffix}").exists():
            number += 1
        target = data_dir / f"{stem} ({number}){suffix}"
        note = f"a different {name} exists, saved as {target.name}"
    tmp = target.with_name(f".{target.name}.part")
    shutil.copyfile(src, tmp)
    tmp.replace(target)
    logger.info("saved upload %s as %s", original_name, target)
    return SavedUpload(original_name, target, note)
