"""``notes-qa models``: build the bundled models' files now (the e5 folder, the chat GGUF).

Both are otherwise built on first use. Prints one line per model.
"""

from __future__ import annotations

import argparse

from rag.cli.common import setup_logging
from rag.config import get_settings
from rag.services import NotesQA


def main(argv: list[str] | None = None) -> int:
    """Prepare the models that the settings name.

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(prog="notes-qa models", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    for line in NotesQA.from_settings(get_settings()).prepare_models():
        print(line)
    return 0
