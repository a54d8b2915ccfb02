"""``python -m rag.ingest [PATH ...] [--rebuild]``: index notes into the store.

Exit code 0 when every file was ingested; 1 when some failed (each gets a
one-line reason on stderr, the others are still ingested); 2 on a usage or
store error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from rag.cli import run_cli, setup_logging
from rag.config import get_settings
from rag.indexing import FileResult, Ingestor
from rag.knowledge_base import KnowledgeBase


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m rag.ingest", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: DATA_DIR)")
    parser.add_argument("--rebuild", action="store_true", help="drop the store and index anew")
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
    settings = get_settings()
    kb = KnowledgeBase(settings)
    bar = tqdm(total=0, unit="chunk", desc="embedding", disable=args.quiet, file=sys.stderr)

    def on_progress(event: str, payload: object) -> None:
        if event == "file" and isinstance(payload, FileResult):
            bar.set_postfix_str(payload.source[-40:], refresh=True)

    def on_embed(n: int) -> None:
        bar.total = max(bar.total or 0, bar.n + n)
        bar.update(n)

    kb.embeddings.listeners.append(on_embed)
    try:
        report = Ingestor(kb, progress=on_progress).ingest(args.paths or None, rebuild=args.rebuild)
    finally:
        bar.close()
    for failed in report.failed:
        print(f"failed: {failed.error}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    run_cli(main)
