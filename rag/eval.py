"""``python -m rag.eval``: the eval command (see :mod:`rag.cli.eval`)."""

if __name__ == "__main__":
    from rag.cli.common import run_cli
    from rag.cli.eval import main

    run_cli(main)
