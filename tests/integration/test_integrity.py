"""Crash states of the store: verify reports each, repair fixes it, the next ingest heals it.

Each test puts the store into a state a killed ingest can leave (directly, or by
"killing" an ingest with an exception at a chosen write), then checks that
``verify`` names the problem, that ``repair`` (or simply the next ingest) makes
the store equal to a clean ingest of the same files, and that nothing that was
fine is embedded again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.cli.ingest import main as ingest_main
from rag.ingest.pipeline import Ingestor
from rag.ingest.repair import repair
from rag.models.fakes import FakeEmbeddings
from rag.store import integrity
from rag.store.integrity import INTERRUPTED, chunk_key, verify
from rag.store.knowledge_base import KnowledgeBase
from rag.store.lexical import LexicalIndex
from rag.store.records import FileRecord, SQLiteRecordManager
from tests.helpers import ids_by_source, ingest, snapshot

CORPUS = ["gbk_note.txt", "bom_note.txt", "headings.md", "multipage.pdf"]
OLD_SENTENCE = "位置编码为模型提供词元的顺序信息。"
NEW_SENTENCE = "位置编码告诉模型每个词元在序列里的先后。"


class Killed(BaseException):
    """Stands in for SIGKILL at a chosen write: nothing after it runs."""


@pytest.fixture
def corpus(add_fixture) -> list[Path]:
    return [add_fixture(name) for name in CORPUS]


@pytest.fixture
def fresh_kb(settings):
    """Open the same store again, as the next process would."""
    opened: list[KnowledgeBase] = []

    def open_again() -> KnowledgeBase:
        base = KnowledgeBase(settings, embeddings=FakeEmbeddings())
        opened.append(base)
        return base

    yield open_again
    for base in opened:
        if "record_manager" in base.__dict__:
            base.record_manager.close()


@pytest.fixture
def clean(settings, tmp_path):
    """Snapshot of a clean ingest of the data dir (as it is when called) into a new store."""
    count = 0

    def make() -> dict:
        nonlocal count
        count += 1
        base = KnowledgeBase(
            settings.model_copy(update={"vectorstore_dir": tmp_path / f"clean{count}"}),
            embeddings=FakeEmbeddings(),
        )
        ingest(base)
        shot = snapshot(base)
        base.record_manager.close()
        return shot

    return make


def embed_count(kb: KnowledgeBase) -> int:
    """Texts that went through the embedder (model or cache) so far."""
    return kb.embeddings.embedded + kb.embeddings.cached


def edit_bom(data_dir: Path, old: str = OLD_SENTENCE, new: str = NEW_SENTENCE) -> None:
    bom = data_dir / "bom_note.txt"
    bom.write_text(bom.read_text(encoding="utf-8-sig").replace(old, new), encoding="utf-8")


# -- the consistent store -----------------------------------------------------


def test_clean_ingest_verifies_and_ids_are_content_hashes(kb, corpus):
    assert verify(kb).ok  # empty store
    ingest(kb)
    report = verify(kb)
    assert report.ok, report.text()
    assert report.chunks == report.records == report.lexical == kb.chunk_count() > len(CORPUS)
    assert report.files == len(CORPUS)
    assert report.lines()[-1].startswith("consistent")
    got = kb.collection.get(include=["documents", "metadatas"])
    for chunk_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
        assert chunk_key(text, meta) == chunk_id
    assert repair(kb).ok


# -- states a kill leaves, made directly -------------------------------------


def test_orphan_chunks_are_adopted_without_embedding(kb, corpus, clean, fresh_kb):
    ingest(kb)
    before = snapshot(kb)
    keys = kb.record_manager.list_keys(group_ids=["headings.md"])
    kb.record_manager.delete_keys(keys[:2])  # Chroma written, records not: killed in between

    report = verify(kb)
    assert report.issue("orphan_chunks").count == 2
    assert "headings.md" in report.issue("orphan_chunks").examples[0]
    assert report.kinds == {"orphan_chunks"}

    kb = fresh_kb()
    done = repair(kb)
    assert done.ok, done.text()
    assert "adopted 2 orphan chunks" in done.actions
    assert embed_count(kb) == 0  # nothing embedded, not even from the cache
    assert snapshot(kb) == before == clean()


def test_orphans_of_an_unknown_shape_are_deleted(kb, corpus, clean):
    ingest(kb)
    kb.vectorstore.add_texts(
        ["不属于任何笔记的片段"],
        metadatas=[{"source": "bom_note.txt", "chunk_index": 0}],
        ids=["x1"],
    )
    kb.vectorstore.add_texts(["没有来源"], metadatas=[{"chunk_index": 0}], ids=["x2"])
    report = verify(kb)
    assert report.issue("orphan_chunks").count == 2
    assert report.issue("duplicate_chunks").examples == ["bom_note.txt #0 x2"]

    assert integrity.heal(kb) == ["deleted 2 orphan chunks not matching their id"]
    ingest(kb)
    assert verify(kb).ok
    assert snapshot(kb) == clean()


def test_records_whose_chunks_are_gone_are_re_added(kb, corpus, clean, fresh_kb):
    ingest(kb)
    before = snapshot(kb)
    lost = sorted(ids_by_source(kb)["gbk_note.txt"])
    kb.vectorstore.delete(ids=lost)  # e.g. killed between a Chroma delete and the record delete

    report = verify(kb)
    assert report.issue("dangling_records").count == len(lost)
    assert report.issue("dangling_records").examples[0].endswith("(gbk_note.txt)")
    assert report.issue("lexical_mismatch").count == len(lost)  # the saved index still has them

    kb = fresh_kb()
    done = repair(kb)
    assert done.ok, done.text()
    assert f"forgot {len(lost)} records with no chunk" in done.actions
    assert f"re-processed 1 file ({len(lost)} chunks re-added)" in done.actions
    assert embed_count(kb) == len(lost)  # only the lost chunks, nothing that was fine
    assert snapshot(kb) == before == clean()


def test_next_ingest_re_adds_lost_chunks_of_an_unchanged_file(kb, corpus, clean, fresh_kb):
    ingest(kb)
    lost = sorted(ids_by_source(kb)["headings.md"])[:2]
    kb.vectorstore.delete(ids=lost)

    kb = fresh_kb()
    report = ingest(kb)  # the file is unchanged on disk, yet its row no longer claims it is done
    assert {f.source: f.status for f in report.files}["headings.md"] == "updated"
    assert report.total("added") == 2
    assert verify(kb).ok
    assert snapshot(kb) == clean()


def test_reindex_restores_lost_chunks(kb, corpus, clean):
    ingest(kb)
    lost = sorted(ids_by_source(kb)["multipage.pdf"])
    kb.vectorstore.delete(ids=lost)
    result = Ingestor(kb).reindex("multipage.pdf")
    assert result.added == len(lost)
    assert verify(kb).ok
    assert snapshot(kb) == clean()


def test_file_row_without_chunks_is_dropped(kb, corpus, clean):
    ingest(kb)
    kb.record_manager.put_file(FileRecord("ghost.md", 3, 0, "abc", 0.0))
    report = verify(kb)
    assert report.kinds == {"file_count_mismatch"}
    assert report.issue("file_count_mismatch").examples == ["ghost.md: row 3, Chroma 0"]
    done = repair(kb)
    assert done.ok and "dropped 1 file row with no chunks" in done.actions
    assert snapshot(kb) == clean()


def test_chunks_without_a_file_row_are_reported_and_completed(kb, corpus, clean):
    ingest(kb)
    kb.record_manager.delete_file("bom_note.txt")  # killed after index(), before put_file
    embedded = embed_count(kb)
    report = verify(kb)
    assert report.kinds == {"missing_file_rows"}
    assert report.issue("missing_file_rows").examples[0].startswith("bom_note.txt (")
    done = repair(kb)
    assert done.ok and done.actions == [
        "listed 1 file whose first ingest was interrupted",
        "re-processed 1 file (0 chunks re-added)",
    ]
    assert embed_count(kb) == embedded
    assert snapshot(kb) == clean()


def test_stale_lexical_pickle(kb, corpus, data_dir, clean, fresh_kb, tmp_path):
    ingest(kb)
    saved = tmp_path / "old_lexical.pkl"
    shutil.copyfile(kb.lexical.path, saved)
    edit_bom(data_dir)
    ingest(kb)
    shutil.copyfile(saved, kb.lexical.path)  # killed before the end-of-run save

    kb = fresh_kb()
    report = verify(kb)
    assert report.kinds == {"lexical_mismatch"}
    issue = report.issue("lexical_mismatch")
    assert issue.title.startswith("lexical index ids differ from Chroma ids (")
    assert any(e.startswith("missing ") for e in issue.examples)
    assert any(e.startswith("extra ") for e in issue.examples)
    done = repair(kb)
    assert done.ok
    assert "lexical index re-synced with Chroma and saved" in done.actions
    assert LexicalIndex(kb.lexical.path).load()
    assert snapshot(fresh_kb()) == clean()


def test_stale_lexical_pickle_is_fixed_by_the_next_ingest(kb, corpus, data_dir, fresh_kb, clean):
    ingest(kb)
    kb.lexical.path.unlink()  # killed before the first save
    kb = fresh_kb()
    assert verify(kb).kinds == {"lexical_mismatch"}
    ingest(kb)
    assert verify(fresh_kb()).ok
    assert snapshot(kb) == clean()


def test_chunks_whose_source_file_is_gone(kb, corpus, add_fixture, tmp_path, clean):
    outside = add_fixture("bom_note.txt", dest=tmp_path / "usb", as_name="外部笔记.txt")
    ingest(kb)
    ingest(kb, outside)
    outside.unlink()
    (tmp_path / "data" / "headings.md").unlink()
    n_outside = len(ids_by_source(kb)[outside.resolve().as_posix()])
    n_headings = len(ids_by_source(kb)["headings.md"])

    report = verify(kb)
    assert report.kinds == {"missing_sources"}
    issue = report.issue("missing_sources")
    assert issue.count == n_outside + n_headings
    assert sorted(issue.examples) == sorted(
        [
            f"{outside.resolve().as_posix()} ({n_outside} chunks)",
            f"headings.md ({n_headings} chunks)",
        ]
    )
    done = repair(kb)
    assert done.ok, done.text()
    assert "removed the chunks of 2 sources whose file is gone" in done.actions
    assert snapshot(kb) == clean()


def test_missing_folder_is_not_taken_for_deleted_notes(kb, corpus, data_dir, add_fixture, tmp_path):
    usb = tmp_path / "usb"
    outside = add_fixture("bom_note.txt", dest=usb)
    ingest(kb)
    ingest(kb, outside)
    data_dir.rename(tmp_path / "unmounted")
    usb.rename(tmp_path / "unplugged")
    report = verify(kb)
    assert report.ok
    assert sorted(report.notes) == sorted(
        [
            f"note: folder {data_dir.as_posix()} does not exist; {len(CORPUS)} sources in it not checked",
            f"note: folder {usb.resolve().as_posix()} does not exist; 1 source in it not checked",
        ]
    )
    assert repair(kb).chunks == report.chunks


# -- an ingest "killed" at each write -----------------------------------------


def _kill_at(monkeypatch, kb: KnowledgeBase, point: str) -> None:
    """Make the next ingest of ``kb`` stop dead at ``point``."""
    rm = kb.record_manager
    if point == "after_chroma_add":  # chunks in Chroma, records not written
        real = rm.update

        def update(keys, *, group_ids=None, **kwargs):
            if group_ids is not None and any(g == "bom_note.txt" for g in group_ids):
                raise Killed
            return real(keys, group_ids=group_ids, **kwargs)

        monkeypatch.setattr(rm, "update", update)
    elif point == "after_records":  # new chunks recorded, old ones not cleaned up
        monkeypatch.setattr(
            kb.vectorstore, "delete", lambda *a, **k: (_ for _ in ()).throw(Killed())
        )
    elif point == "after_chroma_delete":  # old chunks gone from Chroma, still recorded
        monkeypatch.setattr(rm, "delete_keys", lambda keys: (_ for _ in ()).throw(Killed()))
    elif point == "before_file_row":  # everything indexed, file row not updated
        real_put = rm.put_file

        def put_file(record):
            if record.sha256 != INTERRUPTED:
                raise Killed
            return real_put(record)

        monkeypatch.setattr(rm, "put_file", put_file)
    elif point == "before_lexical_save":
        monkeypatch.setattr(kb, "sync_lexical", lambda: (_ for _ in ()).throw(Killed()))
    elif point == "rebuild_after_drop":  # collection dropped, records not cleared
        monkeypatch.setattr(rm, "clear", lambda: (_ for _ in ()).throw(Killed()))
    else:  # pragma: no cover
        raise AssertionError(point)


STALE = {"interrupted_files", "lexical_mismatch"}  # any kill inside the bom_note.txt update
KILL_POINTS = {
    "after_chroma_add": STALE | {"orphan_chunks", "duplicate_chunks", "file_count_mismatch"},
    "after_records": STALE | {"duplicate_chunks", "file_count_mismatch"},
    "after_chroma_delete": STALE | {"dangling_records"},
    "before_file_row": STALE,
    "before_lexical_save": {"lexical_mismatch"},
    "rebuild_after_drop": {"dangling_records", "file_count_mismatch", "lexical_mismatch"},
}


@pytest.mark.parametrize("fix", ["repair", "next_ingest"])
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_ingest_killed_at_each_write(
    monkeypatch, settings, kb, corpus, data_dir, add_fixture, clean, fresh_kb, point, fix
):
    ingest(kb)
    edit_bom(data_dir)  # an update: new chunks added, old ones cleaned up
    add_fixture("gbk_note.txt", as_name="新笔记.txt")  # a new file after it
    _kill_at(monkeypatch, kb, point)
    with pytest.raises(Killed):
        ingest(kb, rebuild=point == "rebuild_after_drop")
    monkeypatch.undo()

    after = fresh_kb()
    report = verify(after)
    assert report.kinds == KILL_POINTS[point], report.text()
    if fix == "repair":
        done = repair(after)
        assert done.ok, done.text()
        assert done.before.kinds == KILL_POINTS[point]
        # Repair makes the store consistent; the next ingest only adds the file never reached.
        statuses = {f.source: f.status for f in ingest(after).files}
        reached = point == "before_lexical_save"
        assert statuses.pop("新笔记.txt") == ("unchanged" if reached else "added")
        assert set(statuses.values()) == {"unchanged"}
    else:
        ingest(after)
        assert verify(after).ok, verify(after).text()
    assert snapshot(fresh_kb()) == clean()


def test_edit_reverted_after_a_kill_is_not_skipped(
    monkeypatch, kb, corpus, data_dir, clean, fresh_kb
):
    ingest(kb)
    edit_bom(data_dir)
    _kill_at(monkeypatch, kb, "after_records")  # both versions of the note are in the store
    with pytest.raises(Killed):
        ingest(kb)
    monkeypatch.undo()
    edit_bom(data_dir, NEW_SENTENCE, OLD_SENTENCE)  # back to the fingerprint of the first ingest

    after = fresh_kb()
    report = ingest(after)
    assert {f.source: f.status for f in report.files}["bom_note.txt"] == "updated"
    texts = after.collection.get(include=["documents"])["documents"]
    assert not any(NEW_SENTENCE in t for t in texts)
    assert verify(after).ok
    assert snapshot(after) == clean()


def test_killed_ingest_releases_nothing_but_the_lock(monkeypatch, kb, corpus, data_dir):
    """The write lock of a crashed in-process ingest is released, so the next one runs."""
    ingest(kb)
    edit_bom(data_dir)
    _kill_at(monkeypatch, kb, "after_chroma_add")
    with pytest.raises(Killed):
        ingest(kb)
    monkeypatch.undo()
    from rag.store.locking import store_lock

    assert not store_lock(kb.settings.vectorstore_dir).held
    ingest(kb)
    assert verify(kb).ok


# -- the command line ---------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, settings):
    for key, value in {
        "DATA_DIR": settings.data_dir,
        "VECTORSTORE_DIR": settings.vectorstore_dir,
        "EMBEDDING_BACKEND": "fake",
        "CHUNK_SIZE": settings.chunk_size,
        "CHUNK_OVERLAP": settings.chunk_overlap,
    }.items():
        monkeypatch.setenv(key, str(value))


def test_cli_verify_and_repair(cli_env, corpus, settings, capsys):
    assert ingest_main(["-q"]) == 0
    capsys.readouterr()
    assert ingest_main(["--verify"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"store {settings.vectorstore_dir}: ")
    assert out[-1] == "consistent: Chroma, records, file rows and lexical index agree"

    rm = SQLiteRecordManager("chroma/notes", settings.vectorstore_dir / "records.sqlite3")
    rm.delete_keys(rm.list_keys(group_ids=["headings.md"])[:1])
    rm.close()
    assert ingest_main(["--verify"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("orphan chunks in Chroma (no record): 1, e.g. ")
    assert out[-1] == "INCONSISTENT: 1 problem; fix with: python -m rag.ingest --repair"

    assert ingest_main(["--repair"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "found 1 problem:" in out
    assert out[-2] == "repaired: adopted 1 orphan chunk; marked 1 file for re-processing; " + (
        "re-processed 1 file (0 chunks re-added)"
    )
    assert out[-1].startswith("consistent")
    assert ingest_main(["--verify"]) == 0


def test_cli_verify_takes_no_paths(cli_env, capsys):
    assert ingest_main(["--verify", "notes"]) == 2
    assert "take no paths" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        ingest_main(["--verify", "--repair"])
    assert exit_info.value.code == 2


def test_a_new_file_killed_half_way_is_listed_then_finished_by_any_write(
    monkeypatch, kb, corpus, add_fixture, clean, fresh_kb
):
    ingest(kb, *corpus[:2])
    rm = kb.record_manager
    real = rm.update

    def update(keys, *, group_ids=None, **kwargs):
        if group_ids is not None and "headings.md" in group_ids:
            raise Killed  # its chunks are in Chroma, their records are not
        return real(keys, group_ids=group_ids, **kwargs)

    monkeypatch.setattr(rm, "update", update)
    with pytest.raises(Killed):
        ingest(kb, corpus[2])
    monkeypatch.undo()

    after = fresh_kb()
    rows = {r.source: r.sha256 for r in after.record_manager.files()}
    assert rows["headings.md"] == INTERRUPTED  # the page lists it, Delete can find it
    other = add_fixture("gbk_note.txt", as_name="新笔记.txt")
    statuses = {f.source: f.status for f in ingest(after, other).files}
    assert statuses == {
        "新笔记.txt": "added",
        "headings.md": "unchanged",
    }  # adopted, not re-embedded
    shutil.move(corpus[3], corpus[3].with_suffix(".bak"))  # not ingested above
    assert verify(after).ok, verify(after).text()
    assert snapshot(after) == clean()
