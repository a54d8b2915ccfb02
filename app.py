"""``python app.py``: start the notes-qa web app.

Listens on ``GRADIO_SERVER_NAME`` (default 127.0.0.1) and ``GRADIO_SERVER_PORT``
(default 7860). When the store is empty, the notes in ``DATA_DIR`` are
ingested in the background right away; the page shows the progress.
"""

from __future__ import annotations

import logging
import os

from rag.cli import setup_logging
from rag.config import get_settings
from rag.web_services import AppServices
from rag.webapp import build_app

logger = logging.getLogger("notes-qa")


def main() -> None:
    """Build the app from settings and serve it until interrupted."""
    settings = get_settings()
    setup_logging(verbose=True)
    services = AppServices.from_settings(settings)
    demo = build_app(settings, services)
    services.start_initial_ingest()
    host = os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    port = int(os.environ.get("GRADIO_SERVER_PORT") or 7860)
    logger.info("serving %s on http://%s:%d", settings.data_dir, host, port)
    demo.launch(server_name=host, server_port=port, max_file_size=settings.max_upload_bytes)


if __name__ == "__main__":
    main()
