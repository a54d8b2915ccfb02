"""``python -m rag.ask``: the ask command (see :mod:`rag.cli.ask`)."""

if __name__ == "__main__":
    from rag.cli.ask import main
    from rag.cli.common import run_cli

    run_cli(main)
