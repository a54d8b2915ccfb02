"""``notes-qa COMMAND [ARGS]``: one console script for every command.

``ingest``, ``ask``, ``eval`` and ``feedback`` take exactly the arguments of
``python -m rag.ingest``, ``python -m rag.ask``, ``python -m rag.eval`` and
``python -m rag.feedback``;
``serve`` starts the web app (``python app.py``); ``bench`` runs the
benchmarks (``python -m benchmarks``).
"""

from __future__ import annotations

import importlib
import sys

from rag.cli.common import run_cli

#: Subcommand → (module with a ``main(argv)``, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("rag.cli.ingest", "index notes into the store (also --verify, --repair)"),
    "ask": ("rag.cli.ask", "ask the notes one question"),
    "eval": ("rag.cli.eval", "answer a file of questions and print metrics"),
    "feedback": ("rag.cli.feedback", "export the 👍/👎 ratings as eval questions"),
    "serve": ("rag.cli.serve", "start the web app"),
    "models": ("rag.cli.models", "build the bundled models' files now (else on first use)"),
    "bench": ("benchmarks.run", "measure ingest, retrieval, the LLM and the app"),
}


def usage() -> str:
    """The list of subcommands."""
    lines = ["usage: notes-qa COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "notes-qa COMMAND --help shows a command's arguments."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the subcommand named by the first argument.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).
    """
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        sys.exit(0 if args else 2)
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        sys.exit(2)
    module = importlib.import_module(COMMANDS[name][0])
    sys.argv = [f"notes-qa {name}", *rest]
    run_cli(lambda: module.main(rest))


if __name__ == "__main__":
    main()
