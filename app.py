"""``python app.py``: start the notes-qa web app (see :mod:`rag.cli.serve`)."""

from rag.cli.serve import main

if __name__ == "__main__":
    main()
