"""``python -m rag.ask "QUESTION" [--k N] [--json] [--no-llm] [--source FILE]... [--heading H]``.

Ask the notes one question; ``--source`` and ``--heading`` restrict the search
to those notes and to that heading with everything under it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rag.cli.common import add_scope_args, setup_logging
from rag.config import get_settings
from rag.services import NotesQA


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m rag.ask", description=__doc__)
    parser.add_argument("question")
    parser.add_argument("--k", type=int, default=None, help="passages to retrieve")
    parser.add_argument("--json", action="store_true", help="print the JSON record")
    parser.add_argument("--no-llm", action="store_true", help="only retrieve")
    add_scope_args(parser)
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def format_text(record: dict[str, Any]) -> str:
    """Human-readable answer with its numbered sources."""
    lines = []
    if record.get("answer"):
        lines += [record["answer"].strip(), ""]
    if record.get("scope"):
        scope = record["scope"]
        where = ", ".join(scope.get("source", [])) + (
            f" § {scope['heading']}" if scope.get("heading") else ""
        )
        lines.append(f"(只在 {where.strip()} 中查找 searching only {where.strip()})")
    if not record["sources"]:
        lines.append(
            "(在范围内没有找到段落 no passages in this scope)"
            if record.get("scope")
            else "(no passages found: is the store empty? run python -m rag.ingest)"
        )
    for src in record["sources"]:
        where = src["source"] + (f" p.{src['page']}" if src.get("page") else "")
        if src.get("heading"):
            where += f" § {src['heading']}"
        snippet = " ".join(src["text"].split())[:120]
        lines.append(f"[{src['rank']}] {where} (score {src['score']:.4f})\n    {snippet}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Answer the question and print it.

    Returns:
        The exit code.
    """
    args = parse_args(argv)
    setup_logging(args.verbose)
    if not args.question.strip():
        raise ValueError("the question is empty")
    if args.k is not None and args.k < 1:
        raise ValueError("--k must be at least 1")
    service = NotesQA.from_settings(get_settings())
    scope = service.resolve_scope(args.source, args.heading)
    record = service.ask(args.question, k=args.k, use_llm=not args.no_llm, scope=scope)
    print(json.dumps(record, ensure_ascii=False, indent=2) if args.json else format_text(record))
    return 0
