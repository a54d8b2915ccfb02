"""``python -m rag.ingest``: the ingest command (see :mod:`rag.cli.ingest`)."""

from rag.cli.common import run_cli
from rag.cli.ingest import main

run_cli(main)
