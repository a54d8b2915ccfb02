"""Benchmark 4: the app's memory, running ``python app.py`` and asking over gradio_client."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import TYPICAL_QUESTION, child_env, free_port, proc_memory
from rag.config import PROJECT_ROOT, Settings

logger = logging.getLogger("benchmarks")


def answer_text(messages: list[Any]) -> str:
    """The answer's text in the chat returned by ``/ask`` (not the sources message)."""

    def text(content: Any) -> str:
        if isinstance(content, list):
            return "".join(text(part) for part in content)
        if isinstance(content, dict):
            return str(content.get("text") or content.get("content") or "")
        return str(content or "")

    replies = [
        text(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") == "assistant"
    ]
    replies = [r for r in replies if "nqa-sources" not in r]
    return replies[-1] if replies else ""


def bench_app(
    settings: Settings,
    store_dir: Path,
    work: Path,
    question: str = TYPICAL_QUESTION,
    timeout: float = 600,
) -> dict[str, Any]:
    """Start ``python app.py`` on a copy of ``store_dir``, ask once, read its memory.

    Args:
        settings: Base settings (``DATA_DIR`` is passed on; the LLM is the local one).
        store_dir: An ingested store; it is copied, not used.
        work: Temp folder for the copy and the app's log.
        question: The question asked through ``gradio_client``.
        timeout: Seconds to wait for start-up and for the answer.

    Returns:
        Start-up and answer times, VmRSS/VmHWM idle and after the answer.
    """
    from gradio_client import Client

    app_store = work / "store-app"
    shutil.copytree(store_dir, app_store, ignore=shutil.ignore_patterns(".write.lock"))
    port = free_port()
    env = child_env(
        settings,
        DATA_DIR=str(settings.data_dir),
        VECTORSTORE_DIR=str(app_store),
        LLM_PROVIDER="local",
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
    )
    url = f"http://127.0.0.1:{port}/"
    log_path = work / "app.log"
    result: dict[str, Any] = {"port": port, "log": str(log_path)}
    with log_path.open("w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "app.py")],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"app.py exited with {proc.returncode}; see {log_path}")
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"app.py did not answer on {url} in {timeout:.0f} s")
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.25)
            result["startup_s"] = round(time.perf_counter() - started, 2)
            idle = proc_memory(proc.pid)
            result["idle_rss_mb"] = idle.get("rss_mb")
            client = Client(url, verbose=False)
            started = time.perf_counter()
            messages, _ = client.predict(question, [], api_name="/ask")
            result["answer_s"] = round(time.perf_counter() - started, 2)
            after = proc_memory(proc.pid)
            result["rss_mb"] = after.get("rss_mb")
            result["hwm_mb"] = after.get("hwm_mb")
            result["answer_preview"] = answer_text(messages)[:120]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    return result
