"""Kill test: SIGKILL ``python -m rag.ingest`` at random moments, then check the store heals.

    python scripts/kill_test.py [--files 300] [--kills 5] [--seed 7] [--workdir DIR]
    python scripts/kill_test.py --app [--upload-mb 4] [--seed 7] [--workdir DIR]

1. Generates a folder of Chinese notes (``--files`` files, seeded).
2. Starts ``python -m rag.ingest`` (fake embeddings) and SIGKILLs it at
   ``--kills`` random moments within the time a full ingest takes; between
   kills some notes are edited, added or deleted (``--mutate``, on by default)
   so that the update and cleanup paths are killed too.
3. Runs the ingest to completion, then ``--verify``.
4. Ingests the final folder into a fresh store and compares: same chunk ids,
   texts and metadata, same records, file rows and lexical ids.

With ``--app`` it kills the web app instead: ``notes-qa serve`` (fake models)
on a folder of notes, a big note uploaded through the page's API, SIGKILL at a
seeded moment while the upload is being indexed, then the app started again
with no manual step; once its start-up ingest is done the store must verify
and equal a clean ingest of the same folder.

Prints each step with timings; exits 0 when the healed store equals the clean one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TOPICS = [
    "检索增强生成",
    "自注意力机制",
    "位置编码",
    "向量数据库",
    "低秩适配",
    "梯度下降",
    "交叉熵损失",
    "词嵌入",
    "知识蒸馏",
    "混合专家模型",
    "提示工程",
    "强化学习",
    "卷积神经网络",
    "循环神经网络",
    "批归一化",
    "残差连接",
]
PHRASES = [
    "的核心思想是先把问题拆成更小的部分",
    "在训练时需要注意学习率的设置",
    "可以显著降低显存占用",
    "通常与余弦相似度一起使用",
    "让模型能够关注序列中的其他位置",
    "为模型提供词元的顺序信息",
    "把文档切分成较短的片段再建立索引",
    "在推理阶段不需要额外的计算",
    "常见的做法是先做归一化再做线性变换",
    "能够缓解梯度消失的问题",
    "需要在验证集上仔细调参",
    "实验表明效果比基线提高了不少",
    "它的缺点是对长文本不够友好",
    "与传统方法相比更加节省时间",
    "复习时要结合课堂笔记一起看",
    "考试经常考它和其他方法的区别",
]


def note_text(rng: random.Random, number: int, version: int = 0) -> str:
    """One note: a heading and a few paragraphs of generated Chinese sentences."""
    topic = rng.choice(TOPICS)
    lines = [f"# 第{number}篇笔记：{topic}（第{version}版）", ""]
    for paragraph in range(rng.randint(3, 7)):
        sentences = [
            f"{rng.choice(TOPICS)}{rng.choice(PHRASES)}，编号{number}-{paragraph}-{i}。"
            for i in range(rng.randint(3, 8))
        ]
        lines += ["".join(sentences), ""]
    return "\n".join(lines)


def make_corpus(folder: Path, n_files: int, seed: int) -> list[Path]:
    """Write ``n_files`` notes (markdown and text) into ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(n_files):
        suffix = ".md" if number % 3 else ".txt"
        path = folder / f"topic{number % 7}" / f"note{number:04d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(note_text(rng, number), encoding="utf-8")
        paths.append(path)
    return paths


def mutate(folder: Path, rng: random.Random, round_no: int, share: float = 0.1) -> list[str]:
    """Edit ``share`` of the notes, delete one and add one; returns what was done."""
    notes = sorted(p for p in folder.rglob("*") if p.is_file())
    edited = rng.sample(notes, max(3, round(share * len(notes))))
    for number, path in enumerate(edited):
        text = note_text(rng, 10000 * (round_no + 1) + number, version=round_no)
        path.write_text(text, encoding="utf-8")
    victim = rng.choice([p for p in notes if p not in edited])
    victim.unlink()
    added = folder / "new" / f"added{round_no}.md"
    added.parent.mkdir(exist_ok=True)
    added.write_text(note_text(rng, 8000 + round_no), encoding="utf-8")
    return [
        f"edited {len(edited)}",
        f"deleted {victim.relative_to(folder)}",
        f"added {added.relative_to(folder)}",
    ]


def env_for(data: Path, store: Path) -> dict[str, str]:
    """Environment of an ingest subprocess on ``data`` and ``store``, fake embeddings."""
    drop = ("DATA_DIR", "VECTORSTORE_DIR", "EMBEDDING_", "CHUNK_", "CHROMA_", "COLLECTION_")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(drop)}
    env.update(
        DATA_DIR=str(data),
        VECTORSTORE_DIR=str(store),
        EMBEDDING_BACKEND="fake",
        CHUNK_SIZE="120",
        CHUNK_OVERLAP="40",
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    return env


def ingest_cmd(*args: str) -> list[str]:
    """The ingest command line."""
    return [sys.executable, "-m", "rag.ingest", "-q", *args]


def run_ingest(data: Path, store: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run an ingest to completion; returns the process and its duration."""
    start = time.perf_counter()
    proc = subprocess.run(
        ingest_cmd(*args),
        env=env_for(data, store),
        cwd=store.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc, time.perf_counter() - start


def healed_line(stderr: str) -> str:
    """What the run's start-up healing did, from its log on stderr."""
    found = [line.split(": ", 2)[-1] for line in stderr.splitlines() if "store healed" in line]
    return f"healed: {found[0]}" if found else "nothing to heal"


def start_and_kill(data: Path, store: Path, after: float, *args: str) -> tuple[bool, float, str]:
    """Start an ingest and SIGKILL it ``after`` seconds later.

    Returns:
        ``(killed, seconds, stderr)``: killed is False when the run finished first.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        ingest_cmd(*args),
        env=env_for(data, store),
        cwd=store.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = proc.communicate(timeout=after)
        return False, time.perf_counter() - start, err
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        return True, time.perf_counter() - start, err


def snapshot(data: Path, store: Path) -> dict:
    """Chunk ids/texts/metadata, records, file rows and lexical ids of a store."""
    code = """
import json, sys
from pathlib import Path
from rag.config import get_settings
from rag.store.knowledge_base import KnowledgeBase
kb = KnowledgeBase(get_settings())
collection = kb.collection
got = collection.get(include=["documents", "metadatas"])
# Every chunk must be found by the vector index too: query a sample by its own vector.
sample = sorted(got["ids"])[::max(1, len(got["ids"]) // 200)]
unfindable = []
if sample:
    vectors = collection.get(ids=sample, include=["embeddings"])
    hits = collection.query(query_embeddings=vectors["embeddings"], n_results=10, include=[])
    unfindable = [i for i, found in zip(vectors["ids"], hits["ids"]) if i not in found]
print(json.dumps({
    "unfindable": unfindable,
    "chroma": sorted([i, t, m] for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])),
    "records": sorted(kb.record_manager.all_keys()),
    "files": sorted([f.source, f.chunks, f.pages, f.sha256] for f in kb.record_manager.files()),
    "lexical": sorted(kb.lexical.ids),
}, ensure_ascii=False, sort_keys=True))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env_for(data, store),
        cwd=store.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(proc.stdout)


@dataclass
class KillTestResult:
    """What the kill test did and found."""

    runs: list[tuple[float, bool, list[str]]] = field(default_factory=list)
    clean_seconds: float = 0.0
    final_seconds: float = 0.0
    final_code: int = -1
    verify_code: int = -1
    verify_output: str = ""
    differences: list[str] = field(default_factory=list)
    chunks: int = 0

    @property
    def kills(self) -> int:
        """How many runs were killed (the others finished before their kill time)."""
        return sum(killed for _, killed, _ in self.runs)

    @property
    def ok(self) -> bool:
        """The healed store equals the clean one and verifies."""
        return self.final_code == 0 and self.verify_code == 0 and not self.differences


def compare(healed: dict, clean: dict) -> list[str]:
    """Human-readable differences between two snapshots."""
    out = []
    if healed["unfindable"]:
        out.append(f"vector index: {len(healed['unfindable'])} sampled chunks not found by query")
    for key in ("chroma", "records", "files", "lexical"):
        a = {json.dumps(x, ensure_ascii=False) for x in healed[key]}
        b = {json.dumps(x, ensure_ascii=False) for x in clean[key]}
        if a != b:
            out.append(
                f"{key}: {len(a - b)} only in the killed store, {len(b - a)} only in the clean one"
                f" (e.g. {sorted(a - b)[:1] or sorted(b - a)[:1]})"
            )
        if len(healed[key]) != len(a):
            out.append(f"{key}: duplicates in the killed store")
    return out


def kill_test(
    workdir: Path,
    *,
    n_files: int = 300,
    kills: int = 5,
    seed: int = 7,
    mutate_between: bool = True,
    max_attempts: int | None = None,
    log=print,
) -> KillTestResult:
    """Run the whole kill test in ``workdir`` (which must not exist yet or be empty)."""
    rng = random.Random(seed)
    data, store, clean_store = workdir / "data", workdir / "store", workdir / "clean"
    workdir.mkdir(parents=True, exist_ok=True)
    make_corpus(data, n_files, seed)
    result = KillTestResult()
    log(f"corpus: {n_files} notes in {data}")

    # Time a full ingest and a no-op one on a throw-away store, to place kills inside runs.
    probe_store = workdir / "probe"
    proc, full = run_ingest(data, probe_store)
    if proc.returncode != 0:
        raise RuntimeError(f"probe ingest failed: {proc.stderr}")
    _, startup = run_ingest(data, probe_store)
    log(f"a full ingest takes {full:.1f} s, a no-op one {startup:.1f} s ({proc.stdout.strip()})")

    share = 0.1
    for attempt in range(max_attempts or 3 * kills):
        if result.kills >= kills:
            break
        changes = mutate(data, rng, attempt, share) if mutate_between and attempt else []
        args = ("--rebuild",) if attempt == 2 else ()
        # Kill after start-up, within the work this run has to do (a guess: all of it on the
        # first run and the rebuild, else about the share of notes just changed, twice over).
        work = full - startup if attempt == 0 or args or not mutate_between else 0.0
        work = max(work, 2 * share * (full - startup)) + 0.5
        after = rng.uniform(0.9 * startup, startup + work)
        killed, seconds, err = start_and_kill(data, store, after, *args)
        result.runs.append((seconds, killed, [*args, *changes]))
        what = "KILLED" if killed else "finished before the kill"
        log(
            f"run {attempt + 1}{' ' if args else ''}{' '.join(args)}: {what} after {seconds:.2f} s"
            f" ({', '.join(changes) or 'no changes'}; {healed_line(err)})"
        )

    proc, result.final_seconds = run_ingest(data, store)
    result.final_code = proc.returncode
    log(
        f"final run: exit {proc.returncode} in {result.final_seconds:.1f} s "
        f"({healed_line(proc.stderr)}): {proc.stdout.strip()}"
    )
    if proc.returncode != 0:
        log(proc.stderr)

    proc, _ = run_ingest(data, store, "--verify")
    result.verify_code, result.verify_output = proc.returncode, proc.stdout + proc.stderr
    log(f"--verify: exit {proc.returncode}\n{proc.stdout.strip()}")

    proc, result.clean_seconds = run_ingest(data, clean_store)
    log(f"clean ingest into {clean_store}: exit {proc.returncode} in {result.clean_seconds:.1f} s")
    healed, clean = snapshot(data, store), snapshot(data, clean_store)
    result.chunks = len(clean["chroma"])
    result.differences = compare(healed, clean)
    if result.differences:
        log("DIFFERENT from a clean ingest:\n  " + "\n  ".join(result.differences))
    else:
        log(f"same as a clean ingest: {result.chunks} chunks, ids, texts, records, lexical")
    log(f"{result.kills} kills in {len(result.runs)} runs; " + ("PASS" if result.ok else "FAIL"))
    return result


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def big_note(path: Path, megabytes: float, seed: int) -> Path:
    """A generated note of about ``megabytes`` MB."""
    rng = random.Random(seed)
    parts, size, number = [], 0, 0
    while size < megabytes * 2**20:
        text = note_text(rng, 50_000 + number)
        parts.append(text)
        size += len(text.encode("utf-8"))
        number += 1
    path.write_text("\n\n".join(parts), encoding="utf-8")
    return path


class App:
    """``notes-qa serve`` as a child process, with its log lines collected."""

    def __init__(self, data: Path, store: Path) -> None:
        """Start the app on ``data`` and ``store`` (fake models) and wait until it answers."""
        import threading

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = env_for(data, store)
        env.update(LLM_PROVIDER="fake", GRADIO_SERVER_PORT=str(self.port))
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli.main", "serve"],
            env=env,
            cwd=store.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        stream = self.proc.stderr
        threading.Thread(target=lambda: self.lines.extend(stream), daemon=True).start()
        deadline = time.monotonic() + 120
        while not any("Running on local URL" in ln or "serving" in ln for ln in self.lines):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the app did not start:\n" + "".join(self.lines))
            time.sleep(0.1)
        self.client = self._client(deadline)

    def _client(self, deadline: float):
        from gradio_client import Client

        while True:
            try:
                return Client(self.url, verbose=False)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def wait_ready(self) -> str:
        """Wait for the start-up ingest (the status endpoint returns once it is done)."""
        status, *_ = self.client.predict(api_name="/status")
        return str(status)

    def kill(self) -> None:
        """SIGKILL the app."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """Stop the app."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def app_kill_test(
    workdir: Path, *, upload_mb: float = 4.0, n_files: int = 20, seed: int = 7, log=print
) -> KillTestResult:
    """Kill the web app while an upload is being indexed; a restart must heal the store."""
    import threading

    from gradio_client import handle_file

    rng = random.Random(seed)
    data, store, clean_store = workdir / "data", workdir / "store", workdir / "clean"
    workdir.mkdir(parents=True, exist_ok=True)
    make_corpus(data, n_files, seed)
    upload = big_note(workdir / "big-upload.md", upload_mb, seed)
    result = KillTestResult()
    log(f"corpus: {n_files} notes; upload: {upload.stat().st_size / 2**20:.1f} MB")

    # How long indexing the upload alone takes, to kill the app inside it.
    probe = workdir / "probe"
    (probe / "data").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(upload, probe / "data" / upload.name)
    _, alone = run_ingest(probe / "data", probe / "store")
    _, startup = run_ingest(probe / "data", probe / "store")
    log(f"indexing the upload alone takes {alone - startup:.1f} s")

    app = App(data, store)
    log(f"app started: {app.wait_ready().splitlines()[0]}")
    done = threading.Event()

    def send() -> None:
        with contextlib.suppress(Exception):  # the app is killed under it
            app.client.predict([handle_file(str(upload))], api_name="/upload")
        done.set()

    threading.Thread(target=send, daemon=True).start()
    started = time.monotonic()
    while not any("saved upload" in line for line in app.lines):
        if time.monotonic() - started > 120:
            raise RuntimeError("the upload was never saved:\n" + "".join(app.lines[-20:]))
        time.sleep(0.05)
    saved = time.monotonic()
    after = rng.uniform(0.4, 0.9) * (alone - startup)
    killed = not done.wait(after)
    app.kill()
    result.runs.append((time.monotonic() - saved, killed, ["upload"]))
    log(
        f"upload saved {saved - started:.1f} s after it was sent; app "
        + ("KILLED" if killed else "finished indexing before the kill")
        + f" {after:.1f} s after that"
    )

    restarted = time.perf_counter()
    app = App(data, store)
    status = app.wait_ready()
    result.final_seconds = time.perf_counter() - restarted
    healed = [ln.strip() for ln in app.lines if "store healed" in ln]
    log(
        f"restarted and ready in {result.final_seconds:.1f} s ({healed[0] if healed else 'no heal'})"
    )
    log(f"status: {status.splitlines()[0]}")
    app.stop()
    result.final_code = 0 if "失败" not in status else 1

    proc, _ = run_ingest(data, store, "--verify")
    result.verify_code, result.verify_output = proc.returncode, proc.stdout + proc.stderr
    log(f"--verify: exit {proc.returncode}\n{proc.stdout.strip()}")
    proc, result.clean_seconds = run_ingest(data, clean_store)
    log(f"clean ingest: exit {proc.returncode} in {result.clean_seconds:.1f} s")
    healed_snap, clean = snapshot(data, store), snapshot(data, clean_store)
    result.chunks = len(clean["chroma"])
    result.differences = compare(healed_snap, clean)
    if result.differences:
        log("DIFFERENT from a clean ingest:\n  " + "\n  ".join(result.differences))
    else:
        log(f"same as a clean ingest: {result.chunks} chunks, ids, texts, records, lexical")
    log(("PASS" if result.ok else "FAIL") + f" ({result.kills} kill)")
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line of the kill test."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-mutate", action="store_true", help="do not edit notes between runs")
    parser.add_argument("--workdir", type=Path, help="default: a new temp folder")
    parser.add_argument("--app", action="store_true", help="kill the web app during an upload")
    parser.add_argument("--upload-mb", type=float, default=4.0, help="size of the upload (--app)")
    args = parser.parse_args(argv)
    if args.workdir is None:
        import tempfile

        args.workdir = Path(tempfile.mkdtemp(prefix="kill_test_"))
    if args.app:
        outcome = app_kill_test(args.workdir, upload_mb=args.upload_mb, seed=args.seed)
        return 0 if outcome.ok and outcome.kills else 1
    result = kill_test(
        args.workdir,
        n_files=args.files,
        kills=args.kills,
        seed=args.seed,
        mutate_between=not args.no_mutate,
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
