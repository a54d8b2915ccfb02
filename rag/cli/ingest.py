"""``python -m rag.ingest [PATH ...] [--rebuild] [--verify | --repair]``: index notes.

Exit code 0 when every file was ingested; 1 when some failed (each gets a
one-line reason on stderr, the others are still ingested, and the file is set
aside: later runs skip it, with a note, until its bytes change); 2 on a usage or
store error; 3 when another process is writing to the store (after waiting
``--lock-timeout`` seconds).

``--verify`` checks that Chroma, the record manager, the file rows, the
lexical index and the note files agree, prints what is wrong, and exits 0
when consistent, 1 when not. ``--repair`` fixes what is wrong (embedding only
missing chunks) and then verifies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from rag.cli.common import setup_logging
from rag.config import get_settings
from rag.services import IngestProgress, NotesQA, StoreLocked


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m rag.ingest", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: DATA_DIR)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--rebuild", action="store_true", help="drop the store and index anew")
    mode.add_argument(
        "--verify",
        action="store_true",
        help="check that Chroma, records, file rows, lexical index and files agree "
        "(exit 0: consistent, 1: not)",
    )
    mode.add_argument("--repair", action="store_true", help="fix what --verify finds, then verify")
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wait this long for another writer, then exit 3 (default: INGEST_LOCK_TIMEOUT, 10)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run an ingest and print a summary.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    args = parse_args(argv)
    setup_logging(args.verbose)
    if (args.verify or args.repair) and args.paths:
        print("error: --verify and --repair take no paths", file=sys.stderr)
        return 2
    service = NotesQA.from_settings(get_settings())
    try:
        if args.verify or args.repair:
            return check_store(service, args.repair, args.lock_timeout)
        return run_ingest(service, args)
    except StoreLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


def check_store(service: NotesQA, fix: bool, lock_timeout: float | None) -> int:
    """``--verify`` / ``--repair``: print the report; 0 when consistent, else 1."""
    report = service.repair(lock_timeout) if fix else service.verify(lock_timeout)
    print(report.text())
    return 0 if report.ok else 1


def run_ingest(service: NotesQA, args: argparse.Namespace) -> int:
    """Ingest ``args.paths`` with a progress bar; print failures and a summary."""
    bar = tqdm(total=0, unit="chunk", desc="embedding", disable=args.quiet, file=sys.stderr)

    def on_progress(snapshot: IngestProgress) -> None:
        if snapshot.chunks_embedded > bar.n:
            bar.total = max(bar.total or 0, snapshot.chunks_embedded)
            bar.update(snapshot.chunks_embedded - bar.n)
        if snapshot.current:
            bar.set_postfix_str(snapshot.current[-40:], refresh=True)

    try:
        report = service.ingest(
            args.paths or None, on_progress, rebuild=args.rebuild, lock_timeout=args.lock_timeout
        )
    finally:
        bar.close()
    for failed in report.failed:
        print(f"failed: {failed.error}", file=sys.stderr)
    if report.failed:
        print(
            "(set aside: later runs skip these files until they change; fix or remove them)",
            file=sys.stderr,
        )
    for aside in report.set_aside:
        print(f"set aside (unchanged since it failed): {aside.error}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1
