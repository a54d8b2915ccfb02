"""``python -m rag.feedback``: the feedback command (see :mod:`rag.cli.feedback`)."""

if __name__ == "__main__":
    from rag.cli.common import run_cli
    from rag.cli.feedback import main

    run_cli(main)
