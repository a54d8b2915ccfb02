"""Files that cannot be parsed: bounded in memory and time, set aside, never failing later runs."""

from __future__ import annotations

import _imp
import json
import resource
import shutil
import subprocess
import sys
import threading

import pytest
from gradio_client import handle_file

from rag.ingest.loaders import LoaderError, ParseLimits, load_pdf
from rag.ingest.parse_process import extract_in_process
from tests.helpers import FIXTURES, Running, garbled_pdf_bomb, listing, pdf_bomb
from tests.integration.test_cli import make_root, run

BOMB_MESSAGE = "bomb.pdf: the PDF expands to far more data than it holds (a decompression bomb?)"


def test_a_bomb_pypdf_detects_is_not_handed_to_pypdfium2(tmp_path):
    bomb = pdf_bomb(tmp_path / "bomb.pdf", 300)
    with pytest.raises(LoaderError, match=r"decompression bomb\?\); set aside, not read"):
        load_pdf(bomb, "bomb.pdf")
    # In a fresh process, so that earlier children do not count: the parser never
    # held the inflated stream (300 MB).
    code = (
        "import resource, sys; from pathlib import Path; from rag.ingest.loaders import load_pdf\n"
        "try: load_pdf(Path(sys.argv[1]), 'bomb.pdf')\nexcept Exception: pass\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, check=True
    )
    assert 0 < int(done.stdout) < 250 * 1024  # KB


def test_a_bomb_only_pypdfium2_inflates_stops_at_the_memory_cap(tmp_path):
    bomb = garbled_pdf_bomb(tmp_path / "bomb.pdf", 1200)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(LoaderError, match=r"within 512 MB \(PARSE_MEMORY_MB\); set aside"):
        load_pdf(bomb, "bomb.pdf", ParseLimits(memory_mb=512, seconds=60))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - own < 50 * 1024  # KB


def test_a_bad_file_fails_once_then_is_set_aside_until_it_changes(tmp_path):
    root = make_root(tmp_path, ["headings.md"])
    pdf_bomb(root / "data" / "bomb.pdf", 300)
    first = run("rag.ingest", "-q", root=root)
    assert first.returncode == 1
    assert BOMB_MESSAGE in first.stderr
    assert first.stdout.startswith("1 files ingested, 1 failed: ")

    second = run("rag.ingest", "-q", root=root)
    assert second.returncode == 0, second.stderr
    assert f"set aside (unchanged since it failed): {BOMB_MESSAGE}" in second.stderr
    assert second.stdout.startswith("1 files ingested, 0 failed, 1 set aside: ")
    assert (root / "data" / "bomb.pdf").exists()  # the student's file is kept

    shutil.copyfile(FIXTURES / "multipage.pdf", root / "data" / "bomb.pdf")  # fixed
    third = run("rag.ingest", "-q", root=root)
    assert third.returncode == 0, third.stderr
    assert third.stdout.startswith("2 files ingested, 0 failed: ")


def test_parsing_returns_while_another_thread_holds_the_import_lock():
    # The app server's threads import lazily; a child that ran Python before
    # exec would wait on the lock it inherited, and the upload would never return.
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        _imp.acquire_lock()
        held.set()
        release.wait()
        _imp.release_lock()

    sys.modules.pop("resource", None)  # so that importing it needs the lock
    threading.Thread(target=hold, daemon=True).start()
    held.wait()
    # Called directly: load_pdf imports the parse module lazily, which would
    # wait on the held lock in this process, not in the child.
    results: list[tuple[list[str], str]] = []
    worker = threading.Thread(
        target=lambda: results.append(
            extract_in_process(FIXTURES / "multipage.pdf", "multipage.pdf", ParseLimits())
        ),
        daemon=True,
    )
    worker.start()
    worker.join(60)
    release.set()
    assert not worker.is_alive()  # the child reached exec and the parse returned
    assert [len(page) > 0 for page in results[0][0]] == [True, False, True]


def test_an_upload_that_cannot_be_ingested_is_not_kept(running: Running) -> None:
    client, data_dir = running.client, running.settings.data_dir
    client.predict(api_name="/status")
    before = listing(client)
    result, *_ = client.predict([handle_file(str(FIXTURES / "corrupt.pdf"))], api_name="/upload")
    assert (
        "corrupt.pdf: not a readable PDF (corrupt or truncated file)（未保存 not kept）" in result
    )
    assert not (data_dir / "corrupt.pdf").exists()
    assert listing(client) == before
    assert running.services.set_aside() == []


def test_a_note_that_cannot_be_ingested_is_listed_and_can_be_deleted(running: Running) -> None:
    client, data_dir = running.client, running.settings.data_dir
    client.predict(api_name="/status")
    shutil.copyfile(FIXTURES / "corrupt.pdf", data_dir / "corrupt.pdf")
    running.services.ingest()
    table, *_ = client.predict(api_name="/list_files")
    rows = {row[0]: row for row in table["data"]}
    assert rows["corrupt.pdf"][3] == (
        "⚠️ 未能索引 not indexed: corrupt.pdf: not a readable PDF (corrupt or truncated file)"
    )
    message, *_ = client.predict("corrupt.pdf", api_name="/delete_file")
    assert "corrupt.pdf" in message and "❌" not in message
    assert not (data_dir / "corrupt.pdf").exists()
    assert running.services.set_aside() == []


def test_links_out_of_the_data_dir_are_not_followed(tmp_path):
    root = make_root(tmp_path, ["headings.md"])
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("服务器上的秘密文件，不应被索引。这是第二句话。", encoding="utf-8")
    (root / "data" / "link.txt").symlink_to(secret)
    (root / "data" / "inside.md").symlink_to(root / "data" / "headings.md")
    proc = run("rag.ingest", "-q", root=root)
    assert proc.returncode == 0, proc.stderr
    assert "link.txt: a link to a file outside" in proc.stderr
    listed = run("rag.ask", "秘密文件", "--no-llm", "--json", root=root)
    sources = {s["source"] for s in json.loads(listed.stdout)["sources"]}
    assert sources == {"headings.md"}
