"""One writer per store: the write lock across processes and threads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.ingest.pipeline import Ingestor
from rag.ingest.repair import repair
from rag.store.locking import LOCK_NAME, StoreLocked, store_lock, write_lock
from tests.helpers import SETTINGS_ENV, ingest

REPO = Path(__file__).resolve().parents[2]

# Another writer, speaking the lock-file protocol with bare fcntl (fast to start):
# flock the file, write the pid, hold until stdin closes.
HOLDER = """
import fcntl, os, sys
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.ftruncate(fd, 0)
os.pwrite(fd, f"{os.getpid()}\\n".encode(), 0)
print("held", flush=True)
sys.stdin.read()
"""
# Exit 0 when the lock file can be locked right now, 1 when someone holds it.
PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(1)
"""


def child_env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS_ENV}
    env.update(
        DATA_DIR=str(settings.data_dir),
        VECTORSTORE_DIR=str(settings.vectorstore_dir),
        EMBEDDING_BACKEND="fake",
        CHUNK_SIZE=str(settings.chunk_size),
        CHUNK_OVERLAP=str(settings.chunk_overlap),
    )
    return env


@pytest.fixture
def holder(settings):
    """Start another process that holds the store's lock until its stdin closes."""
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(settings.vectorstore_dir / LOCK_NAME)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "held"
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()


def run_ingest(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.ingest", "-q", *args],
        env=child_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def free_in_another_process(settings) -> bool:
    """Whether another process can take the lock right now."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(settings.vectorstore_dir / LOCK_NAME)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode not in (0, 1):
        raise AssertionError(proc.stderr)
    return proc.returncode == 0


def test_second_ingest_process_waits_then_exits_3(settings, kb, add_fixture):
    add_fixture("headings.md")
    with write_lock(kb):
        lock_file = settings.vectorstore_dir / LOCK_NAME
        assert lock_file.read_text().strip() == str(os.getpid())
        start = time.monotonic()
        proc = run_ingest(settings, "--lock-timeout", "0.5")
        waited = time.monotonic() - start
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: another ingest is running on {settings.vectorstore_dir} (pid {os.getpid()}); "
        "try again when it finishes"
    )
    assert waited >= 0.5
    assert kb.chunk_count() == 0  # the waiting process wrote nothing

    assert lock_file.read_text() == ""  # released: no pid left behind
    assert free_in_another_process(settings)


def test_verify_and_repair_also_wait_for_the_lock(settings, kb, holder):
    proc = holder()
    waiting = [
        subprocess.Popen(
            [sys.executable, "-m", "rag.ingest", flag, "--lock-timeout", "0.2"],
            env=child_env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ("--verify", "--repair")
    ]
    for other in waiting:
        out, err = other.communicate(timeout=120)
        assert other.returncode == 3, err
        assert out == ""
        assert f"(pid {proc.pid}); try again when it finishes" in err


def test_second_process_gets_the_lock_when_the_first_finishes(settings, kb, holder, add_fixture):
    add_fixture("bom_note.txt")
    first = holder()
    second = subprocess.Popen(
        [sys.executable, "-m", "rag.ingest", "-q", "--lock-timeout", "60"],
        env=child_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = second.stderr.readline()
    assert f"waiting up to 60 s for another writer (pid {first.pid})" in line
    first.stdin.close()  # the first writer finishes
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert out.startswith("1 files ingested, 0 failed")
    assert kb.chunk_count() > 0


def test_lock_of_a_killed_process_is_free(settings, holder):
    proc = holder()
    assert not free_in_another_process(settings)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert free_in_another_process(settings)  # the kernel dropped it; the stale pid is ignored


@pytest.mark.parametrize("operation", ["ingest", "remove", "reindex", "delete_source", "repair"])
def test_every_write_path_takes_the_lock(settings, kb, add_fixture, holder, operation):
    add_fixture("headings.md")
    ingest(kb)
    proc = holder()
    ingestor = Ingestor(kb, lock_timeout=0.1)
    calls = {
        "ingest": lambda: ingestor.ingest(),
        "remove": lambda: ingestor.remove("headings.md"),
        "reindex": lambda: ingestor.reindex("headings.md"),
        "delete_source": lambda: ingestor.delete_source("headings.md"),
        "repair": lambda: repair(kb, timeout=0.1),
    }
    with pytest.raises(StoreLocked) as err:
        calls[operation]()
    assert err.value.pid == proc.pid
    assert str(err.value) == (
        f"another ingest is running on {kb.location} (pid {proc.pid}); try again when it finishes"
    )
    assert (settings.data_dir / "headings.md").exists()


def test_released_on_normal_exit_and_on_exception(settings, kb, monkeypatch):
    lock = store_lock(settings.vectorstore_dir)
    with write_lock(kb):
        assert lock.held
        assert not free_in_another_process(settings)
    assert not lock.held
    assert free_in_another_process(settings)

    with pytest.raises(RuntimeError, match="boom"), write_lock(kb):
        raise RuntimeError("boom")
    assert not lock.held
    assert free_in_another_process(settings)

    def boom(paths):
        raise RuntimeError("boom")

    monkeypatch.setattr("rag.ingest.pipeline.collect_files", boom)
    with pytest.raises(RuntimeError, match="boom"):
        Ingestor(kb).ingest()
    assert not lock.held
    assert free_in_another_process(settings)


def test_reentrant_in_one_thread(settings, kb, add_fixture):
    add_fixture("headings.md")
    lock = store_lock(settings.vectorstore_dir)
    assert store_lock(settings.vectorstore_dir) is lock  # one object per store per process
    with write_lock(kb, timeout=0), write_lock(kb, timeout=0):
        ingest(kb)  # takes it a third time, then delete_source inside takes it again
        assert lock.held
    assert not lock.held
    assert kb.chunk_count() > 0


def test_other_threads_queue_behind_the_holder(settings, kb):
    lock = store_lock(settings.vectorstore_dir)
    order: list[str] = []

    def other() -> None:
        with write_lock(kb, timeout=0):  # no timeout for threads of the same process
            order.append("other")

    with write_lock(kb):
        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.3)
        order.append("first")
        assert thread.is_alive()  # still waiting
    thread.join(10)
    assert order == ["first", "other"]
    assert not lock.held


def test_concurrent_ingests_in_threads_are_serialised(settings, kb, add_fixture):
    add_fixture("headings.md")
    add_fixture("gbk_note.txt")
    inside, overlaps = [0], []
    real = kb.record_manager.put_file

    def put_file(record):
        inside[0] += 1
        overlaps.append(inside[0])
        time.sleep(0.05)
        real(record)
        inside[0] -= 1

    kb.record_manager.put_file = put_file
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            Ingestor(kb).reindex(name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    ingest(kb)
    overlaps.clear()
    threads = [
        threading.Thread(target=work, args=(n,)) for n in ["headings.md", "gbk_note.txt"] * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(overlaps) == 12  # two rows written per re-index
    assert max(overlaps) == 1
