"""A damaged store on disk: every command says what to run, --repair and --rebuild fix it.

Real Chroma on disk, the command line as subprocesses, fake embeddings. The
store holds enough chunks (about 1,800) for Chroma to write its HNSW files.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.integration.test_cli import make_root, run

NOTES = ["headings.md", "gbk_note.txt"]
REPAIR_HINT = "Repair it with: python -m rag.ingest --repair"


def _store(tmp_path: Path) -> Path:
    root = make_root(tmp_path, NOTES)
    rng = random.Random(3)
    sections = [
        f"## 第{i}节\n\n"
        + "".join(f"句子{i}-{j}讲的是检索{rng.randint(0, 10**6)}。" for j in range(8))
        for i in range(600)
    ]
    (root / "data" / "big.md").write_text("\n\n".join(sections), encoding="utf-8")
    assert run("rag.ingest", "-q", root=root).returncode == 0
    return root


def _segment(root: Path) -> Path:
    return next(d for d in (root / "store" / "chroma").iterdir() if d.is_dir())


def _damage(root: Path, how: str) -> None:
    store = root / "store"
    if how == "truncated index":
        index = _segment(root) / "data_level0.bin"
        index.write_bytes(index.read_bytes()[: index.stat().st_size // 3])
    elif how == "random data_level0.bin":  # Chroma segfaults on it
        index = _segment(root) / "data_level0.bin"
        index.write_bytes(os.urandom(index.stat().st_size))
    elif how == "random index":
        for path in _segment(root).iterdir():
            path.write_bytes(os.urandom(max(path.stat().st_size, 64)))
    elif how == "half chroma.sqlite3":
        db = store / "chroma" / "chroma.sqlite3"
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    elif how == "random records":
        (store / "records.sqlite3").write_bytes(os.urandom(8192))


@pytest.mark.parametrize(
    "how",
    [
        "truncated index",
        "random data_level0.bin",
        "random index",
        "half chroma.sqlite3",
        "random records",
    ],
)
def test_damage_is_reported_and_repaired_without_a_crash(tmp_path, how):
    root = _store(tmp_path)
    _damage(root, how)
    checked = run("rag.ingest", "--verify", root=root)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "INCONSISTENT" in checked.stdout
    if how != "random records":  # questions do not read the records
        asked = run("rag.ask", "检索", "--no-llm", root=root)
        assert asked.returncode == 2, asked.stderr  # a message, not a segfault (139)
        assert REPAIR_HINT in asked.stderr
    repaired = run("rag.ingest", "--repair", root=root)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "indexed 3 notes again from the data folder" in repaired.stdout
    assert "consistent: Chroma, records, file rows and lexical index agree" in repaired.stdout
    assert run("rag.ingest", "--verify", root=root).returncode == 0
    asked = run("rag.ask", "第7节", "--no-llm", "--json", root=root)
    assert asked.returncode == 0, asked.stderr
    assert (root / "data" / "big.md").exists()  # the notes are untouched


def test_rebuild_works_on_a_damaged_index_and_leaves_one_index_folder(tmp_path):
    root = _store(tmp_path)
    _damage(root, "random index")
    rebuilt = run("rag.ingest", "-q", "--rebuild", root=root)
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = run("rag.ingest", "-q", "--rebuild", root=root)
    assert again.returncode == 0, again.stderr
    folders = [d.name for d in (root / "store" / "chroma").iterdir() if d.is_dir()]
    assert len(folders) == 1, folders
    assert run("rag.ingest", "--verify", root=root).returncode == 0
    assert len(list((root / "store").glob("damaged-*"))) == 1  # the unreadable index, unread
