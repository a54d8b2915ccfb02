"""``python -m rag.feedback export [--out FILE] [--only down|up|all] [--owner NAME]``.

Writes the 👍/👎 ratings given in the web app as eval questions, one JSON line
each (see :mod:`rag.services.feedback`), so that ``python -m rag.eval FILE``
runs them again. ``--owner`` keeps one login's ratings (default: everyone's).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.cli.common import setup_logging
from rag.config import get_settings
from rag.services import NotesQA


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m rag.feedback", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write the ratings as eval JSON Lines")
    export.add_argument("--out", type=Path, default=None, help="write here (default: stdout)")
    export.add_argument("--only", choices=["down", "up", "all"], default="all")
    export.add_argument("--owner", default=None, help="one login's ratings only")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Export the ratings.

    Returns:
        The exit code.
    """
    args = parse_args(argv)
    setup_logging(args.verbose)
    service = NotesQA.from_settings(get_settings())
    lines = service.export_feedback(args.only, args.owner)
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"{len(lines)} ratings -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
