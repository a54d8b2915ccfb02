"""Helpers shared by the command-line entry points (logging, errors)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from pydantic import ValidationError

from rag.services import StoreError


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr: INFO with ``-v``, else WARNING; quiet noisy libraries.

    Args:
        verbose: Show INFO messages of this project.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name in ("httpx", "chromadb", "jieba", "urllib3", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # pypdf warns about broken files without naming them; our loader reports them instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def add_scope_args(parser: argparse.ArgumentParser) -> None:
    """``--source`` (repeatable) and ``--heading``: where the questions search."""
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="FILE",
        help="search only this note (file name or source id; repeat for several)",
    )
    parser.add_argument(
        "--heading",
        default="",
        help="search only under this heading (with --source: of those notes)",
    )


def run_cli(main: Callable[[], int]) -> None:
    """Run ``main`` and turn expected errors into a message and exit code 2.

    Args:
        main: The command's body, returning its exit code.
    """
    try:
        code = main()
    except (StoreError, ValidationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)
