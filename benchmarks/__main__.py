"""``python -m benchmarks``: run the benchmarks (see :mod:`benchmarks.run`)."""

from benchmarks.run import main
from rag.cli.common import run_cli

run_cli(main)
