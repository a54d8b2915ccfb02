"""Load test: N concurrent chat users through gradio_client while notes are uploaded.

Starts the real app in-process on loopback (fake LLM, real hybrid retrieval
with the bundled e5 model unless ``--fake-embeddings``), ingests the notes,
then for ``--seconds`` runs ``--users`` chat threads asking dev-set questions
and one uploader thread adding a new note every ``--upload-every`` seconds.
Every loop is bounded by the deadline; traffic goes to 127.0.0.1 only.

Usage: python scripts/load_test.py [--users 8] [--seconds 120] [--fake-embeddings]
Prints requests, errors and latency p50/p95 per kind, and writes JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradio_client import Client, handle_file  # noqa: E402

from rag.config import Settings, apply_offline_env  # noqa: E402
from rag.services.evaluation import percentile  # noqa: E402
from rag.web.app import build_app  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(users: int, seconds: float, upload_every: float, fake_embeddings: bool) -> dict:
    apply_offline_env()
    work = Path(tempfile.mkdtemp(prefix="nqa-load-"))
    data = work / "data"
    shutil.copytree(ROOT / "data", data)
    settings = Settings(
        data_dir=data,
        vectorstore_dir=work / "store",
        embedding_backend="fake" if fake_embeddings else "e5",
        llm_provider="fake",
        refuse_below_zh=0.0 if fake_embeddings else 0.88,
        refuse_below_en=0.0 if fake_embeddings else 0.86,
    )
    app = build_app(settings)
    app.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "tests" / "data" / "dev_qa.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    results: dict[str, list[tuple[float, bool, str]]] = {"ask": [], "upload": []}
    lock = threading.Lock()
    try:
        Client(app.local_url, verbose=False).predict(api_name="/status")  # waits for first ingest
        start = time.time()
        deadline = start + seconds

        def record(kind: str, began: float, ok: bool, note: str = "") -> None:
            with lock:
                results[kind].append((time.time() - began, ok, note))

        def chat_user(seed: int) -> None:
            rng = random.Random(seed)
            client = Client(app.local_url, verbose=False)
            while time.time() < deadline:
                began = time.time()
                try:
                    messages, _ = client.predict(rng.choice(questions), [], api_name="/ask")
                    text = str(messages[-1].get("content", "")) if messages else ""
                    record("ask", began, bool(text), "")
                except Exception as exc:
                    record("ask", began, False, repr(exc)[:200])

        def uploader() -> None:
            client = Client(app.local_url, verbose=False)
            number = 0
            while time.time() + upload_every < deadline:
                time.sleep(upload_every)
                number += 1
                note = work / f"load-note-{number}.md"
                note.write_text(
                    f"# 压力测试笔记 {number}\n\n第{number}份笔记：混合检索把关键词检索和向量检索结合起来。\n",
                    encoding="utf-8",
                )
                began = time.time()
                try:
                    result, *_ = client.predict([handle_file(str(note))], api_name="/upload")
                    record("upload", began, "added" in json.dumps(result, ensure_ascii=False), "")
                except Exception as exc:
                    record("upload", began, False, repr(exc)[:200])

        threads = [threading.Thread(target=chat_user, args=(i,)) for i in range(users)]
        threads.append(threading.Thread(target=uploader))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 300)
        elapsed = time.time() - start
    finally:
        app.close()
        shutil.rmtree(work, ignore_errors=True)
    summary: dict = {"users": users, "seconds": round(elapsed, 1)}
    for kind, rows in results.items():
        latencies = [r[0] * 1000 for r in rows]
        summary[kind] = {
            "requests": len(rows),
            "errors": sum(1 for r in rows if not r[1]),
            "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
            "error_examples": sorted({r[2] for r in rows if not r[1] and r[2]})[:3],
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--upload-every", type=float, default=15)
    parser.add_argument("--fake-embeddings", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    summary = run(args.users, min(args.seconds, 1800), args.upload_every, args.fake_embeddings)
    print(f"users {summary['users']}, {summary['seconds']} s")
    for kind in ("ask", "upload"):
        s = summary[kind]
        print(
            f"{kind:>6}: {s['requests']} requests, {s['errors']} errors, "
            f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms {s['error_examples'] or ''}"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
