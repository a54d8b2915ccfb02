"""Figures for the hardening of the app: a PDF bomb's memory, a huge question's delay.

    python -m benchmarks.hardening [--bomb-mb 2000] [--question-chars 100000]

Starts ``notes-qa serve`` (fake models) on a temp folder, then

* uploads a 2 MB PDF whose content stream inflates to ``--bomb-mb`` MB and
  prints the app's peak resident memory (``VmHWM``) before and after, and the
  largest child process's (the PDF parser's);
* sends a question of ``--question-chars`` identical characters, and one
  second later a normal question, and prints how long each took.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children_peak_mb(pid: int) -> float:
    """The largest peak among the app's children alive now and the ones it reaped."""
    best = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            try:
                best = max(best, _peak_mb(int(child)))
            except (OSError, ValueError):
                continue
    return best


def _bomb(path: Path, inflated_mb: int) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.helpers import pdf_bomb

    return pdf_bomb(path, inflated_mb)


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bomb-mb", type=int, default=2000)
    parser.add_argument("--question-chars", type=int, default=100_000)
    args = parser.parse_args(argv)
    from gradio_client import Client, handle_file

    root = Path(tempfile.mkdtemp(prefix="bench_hardening_"))
    (root / "data").mkdir()
    (root / "data" / "note.md").write_text(
        "# 注意力机制\n\n注意力机制让模型关注输入中最相关的部分。\n", encoding="utf-8"
    )
    bomb = _bomb(root / "bomb.pdf", args.bomb_mb)
    port = 7000 + os.getpid() % 1000
    env = {
        **os.environ,
        "DATA_DIR": str(root / "data"),
        "VECTORSTORE_DIR": str(root / "store"),
        "EMBEDDING_BACKEND": "fake",
        "LLM_PROVIDER": "fake",
        "GRADIO_SERVER_PORT": str(port),
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "rag.cli.main", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                client = Client(f"http://127.0.0.1:{port}", verbose=False)
                client.predict(api_name="/status")
                break
            except Exception:
                if time.monotonic() > deadline or app.poll() is not None:
                    print("the app did not start")
                    return 1
                time.sleep(0.5)
        before = _peak_mb(app.pid)
        peak_child = 0.0
        done = threading.Event()

        def watch() -> None:
            nonlocal peak_child
            while not done.is_set():
                try:
                    peak_child = max(peak_child, _children_peak_mb(app.pid))
                except OSError:
                    return
                time.sleep(0.05)

        threading.Thread(target=watch, daemon=True).start()
        started = time.perf_counter()
        try:
            result, *_ = client.predict([handle_file(str(bomb))], api_name="/upload")
            outcome = " ".join(line for line in result.splitlines() if "bomb" in line)[:160]
        except Exception as exc:  # the app died
            outcome = f"upload failed: {type(exc).__name__}"
        took = time.perf_counter() - started
        done.set()
        alive = app.poll() is None
        after = _peak_mb(app.pid) if alive else float("nan")
        print(f"bomb: {bomb.stat().st_size / 2**20:.1f} MB file inflating to {args.bomb_mb} MB")
        print(f"  app peak memory before {before:.0f} MB, after {after:.0f} MB; alive: {alive}")
        print(f"  largest parser child seen {peak_child:.0f} MB; upload answered in {took:.1f} s")
        print(f"  outcome: {outcome}")
        if not alive:
            return 1

        times: dict[str, float] = {}

        def ask(name: str, question: str) -> None:
            begun = time.perf_counter()
            Client(f"http://127.0.0.1:{port}", verbose=False).predict(question, [], api_name="/ask")
            times[name] = time.perf_counter() - begun

        huge = threading.Thread(target=ask, args=("huge", "注" * args.question_chars))
        huge.start()
        time.sleep(1.0)
        ask("normal", "什么是注意力机制？")
        huge.join(timeout=600)
        print(f"questions: {args.question_chars:,} characters took {times.get('huge', -1):.1f} s;")
        print(f"  a normal question sent 1 s later took {times['normal']:.2f} s")
    finally:
        app.terminate()
        app.wait(timeout=30)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"(largest process this run started: {peak:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
