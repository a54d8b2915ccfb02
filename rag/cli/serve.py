"""``notes-qa serve`` (and ``python app.py``): start the notes-qa web app.

Listens on ``GRADIO_SERVER_NAME`` (default 127.0.0.1) and ``GRADIO_SERVER_PORT``
(default 7860). When the store is empty, the notes in ``DATA_DIR`` are
ingested in the background right away; the page shows the progress.
"""

from __future__ import annotations

import logging
import os
import sys

from rag.cli.common import setup_logging
from rag.config import get_settings
from rag.services import NotesQA
from rag.web.app import build_app
from rag.web.security import resolve_auth
from rag.web.upload_cache import empty as empty_upload_cache

logger = logging.getLogger("notes-qa")


def main(argv: list[str] | None = None) -> int:
    """Build the app from settings and serve it until interrupted.

    Args:
        argv: Unused; the app is configured by settings alone.

    Returns:
        The exit code (only when the server stops).
    """
    settings = get_settings()
    setup_logging(verbose=True)
    host, port = settings.gradio_server_name, settings.gradio_server_port
    try:
        auth = resolve_auth(host, settings.app_auth)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    if not os.environ.get("GRADIO_TEMP_DIR"):
        # The app's own upload cache, emptied at every start (see rag.web.upload_cache).
        cache = settings.vectorstore_dir / "upload-cache"
        empty_upload_cache(cache)
        os.environ["GRADIO_TEMP_DIR"] = str(cache)
    services = NotesQA.from_settings(settings)
    demo = build_app(settings, services)
    services.start_initial_ingest()
    services.start_warm_up()
    logger.info("serving %s on http://%s:%d", settings.data_dir, host, port)
    demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        max_file_size=settings.max_upload_bytes,
    )
    return 0
