"""Extract a PDF's text in a child process with an address-space cap and a deadline.

A PDF can hold a compressed stream that inflates to gigabytes, or a page
that keeps a parser busy for minutes. Parsing in the app's own process would
let such a file take all memory (or crash it, with nothing logged). Here the
child gets ``RLIMIT_AS`` and a wall-clock deadline; whatever goes wrong comes
back as a :class:`~rag.ingest.loaders.LoaderError` naming the file.

The child sets its own cap: a ``preexec_fn`` runs Python between fork and exec,
and in the threaded app server it can wait forever on a lock another thread
held at the fork (an upload then never returns; the deadline does not cover it).

Run as ``python -m rag.ingest.parse_process MEMORY_MB PATH SOURCE``: it prints
one JSON object, ``{"pages": [...], "engine": ...}`` or ``{"error": ...}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rag.config import child_env
from rag.ingest.loaders import LoaderError, ParseLimits, extract_pdf_text


def _limit(memory_mb: int) -> None:
    import resource

    cap = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def extract_in_process(path: Path, source: str, limits: ParseLimits) -> tuple[list[str], str]:
    """The page texts of a PDF and the engine that read them, parsed in a bounded child.

    Args:
        path: The PDF.
        source: Its name in messages.
        limits: Address space (MB) and seconds the child may use.

    Returns:
        ``(page texts, engine)``.

    Raises:
        LoaderError: The file cannot be read, or parsing it would cost more than the limits.
    """
    command = [
        sys.executable, "-m", "rag.ingest.parse_process", str(limits.memory_mb), str(path), source
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=limits.seconds,
            env=child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LoaderError(
            f"{source}: parsing took over {limits.seconds:g} s (PARSE_TIMEOUT); set aside, "
            "not read. Split the PDF or raise PARSE_TIMEOUT."
        ) from exc
    try:
        result = json.loads(done.stdout.decode("utf-8"))
    except ValueError:
        result = None
    if isinstance(result, dict) and "error" in result:
        raise LoaderError(str(result["error"]))
    if done.returncode != 0 or not isinstance(result, dict):
        raise LoaderError(
            f"{source}: the PDF parser stopped (exit {done.returncode}) within "
            f"{limits.memory_mb} MB (PARSE_MEMORY_MB); set aside, not read. The file is "
            "damaged or far larger inside than it looks."
        )
    return [str(page) for page in result["pages"]], str(result["engine"])


def main(argv: list[str]) -> int:
    """The child: cap its memory, extract, print JSON, exit 0 (also for an unreadable file)."""
    _limit(int(argv[0]))
    path, source = Path(argv[1]), argv[2]
    try:
        pages, engine = extract_pdf_text(path, source)
        out: dict[str, object] = {"pages": pages, "engine": engine}
    except LoaderError as exc:
        out = {"error": str(exc)}
    except MemoryError:
        out = {
            "error": f"{source}: reading the PDF needs more memory than PARSE_MEMORY_MB allows "
            "(a decompression bomb?); set aside, not read"
        }
    sys.stdout.write(json.dumps(out, ensure_ascii=False))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
