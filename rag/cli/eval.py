"""``python -m rag.eval FILE.jsonl [--k N] [--no-llm] [--out OUT] [--source F] [--heading H]``.

Reads one question per line (``question`` and optionally ``id``, ``evidence``,
``source``, ``page``, ``keywords``, ``answerable``, ``turns``: earlier questions
of the same conversation, asked first; ``scope``: ``{"source": name or [names],
"heading": ...}``, the notes and heading that question searches, instead of
``--source`` / ``--heading``), answers them all in one process,
writes one JSON record per question to OUT (or stdout) and prints a summary
(hit@1/2/3/5, MRR, keyword coverage, refusal rates, answers with unsupported
figures, retrieval latency) to stderr, or to stdout when OUT is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rag.cli.common import add_scope_args, setup_logging
from rag.config import get_settings
from rag.services import NotesQA, Scope, ScopeError
from rag.services.evaluation import summarize


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m rag.eval", description=__doc__)
    parser.add_argument("file", type=Path, help="questions, JSON Lines")
    parser.add_argument("--k", type=int, default=None, help="passages to retrieve")
    parser.add_argument("--no-llm", action="store_true", help="only retrieve")
    parser.add_argument("--out", type=Path, default=None, help="write records here")
    add_scope_args(parser)
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def read_questions(path: Path) -> list[dict[str, Any]]:
    """Read and validate the eval file.

    Raises:
        ValueError: Unreadable file, bad JSON or a line without ``question``.
    """
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    golds = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            gold = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(gold, dict) or not str(gold.get("question", "")).strip():
            raise ValueError(f"{path}:{number}: each line needs a non-empty 'question'")
        turns = gold.get("turns", [])
        if not isinstance(turns, list) or not all(isinstance(t, str) and t.strip() for t in turns):
            raise ValueError(f"{path}:{number}: 'turns' must be a list of earlier questions")
        scope = gold.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise ValueError(f"{path}:{number}: 'scope' must be an object (source, heading)")
        try:
            Scope.from_dict(scope)
        except ScopeError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
        golds.append(gold)
    if not golds:
        raise ValueError(f"{path}: no questions")
    return golds


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as aligned ``name: value`` lines."""
    return "\n".join(f"{key:>22}: {value}" for key, value in summary.items())


def main(argv: list[str] | None = None) -> int:
    """Run the batch.

    Returns:
        The exit code.
    """
    args = parse_args(argv)
    setup_logging(args.verbose)
    golds = read_questions(args.file)
    service = NotesQA.from_settings(get_settings())
    default_scope = service.resolve_scope(args.source, args.heading)
    scopes = []
    for number, gold in enumerate(golds, start=1):
        asked = Scope.from_dict(gold.get("scope"))
        try:
            scopes.append(
                service.resolve_scope(asked.sources, asked.heading) if asked else default_scope
            )
        except ScopeError as exc:  # every line checked before the first is answered
            raise ValueError(f"{args.file}: question {number}: {exc}") from exc
    out = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    records = []
    try:
        for number, gold in enumerate(golds, start=1):
            qid = str(gold.get("id", number))
            record = service.ask(
                gold["question"],
                k=args.k,
                use_llm=not args.no_llm,
                qid=qid,
                turns=gold.get("turns") or (),
                scope=scopes[number - 1],
            )
            records.append(record)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if args.out:
            out.close()
    print(format_summary(summarize(golds, records)), file=sys.stdout if args.out else sys.stderr)
    return 0
