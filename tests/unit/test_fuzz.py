"""Property-based tests: random bytes and text through loaders, splitter and upload names."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.ingest.loaders import (
    LoaderError,
    decode_text,
    is_garbled,
    load_file,
)
from rag.ingest.splitter import split_documents
from rag.ingest.structure import markdown_sections
from rag.ingest.uploads import UploadError, safe_filename

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(st.binary(max_size=4096))
def test_decode_random_bytes_gives_text_or_a_clear_error(data):
    try:
        text = decode_text(data, "x.txt")
    except LoaderError as exc:
        assert str(exc).startswith("x.txt: ")
    else:
        assert text.strip() and "\r" not in text


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from([".txt", ".md", ".pdf", ".markdown"]))
def test_load_random_files_never_crash(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"note{suffix}"
    path.write_bytes(data)
    try:
        docs = load_file(path, path.name)
    except LoaderError as exc:
        assert str(exc).startswith(f"{path.name}: ")
    else:
        assert docs and all(d.page_content.strip() for d in docs)


@FUZZ
@given(st.binary(min_size=8, max_size=2048))
def test_random_bytes_behind_a_pdf_header_never_crash(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n" + data)
    try:
        load_file(path, "broken.pdf")
    except LoaderError as exc:
        assert str(exc).startswith("broken.pdf: ")


@FUZZ
@given(st.text(max_size=3000), st.integers(50, 600), st.integers(40, 49))
def test_splitter_keeps_all_text_within_size(text, size, overlap):
    from langchain_core.documents import Document

    chunks = split_documents([Document(page_content=text, metadata={"source": "s"})], size, overlap)
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))
    assert all(0 < len(c.page_content) <= size for c in chunks)
    joined = "".join(c.page_content for c in chunks)
    for char in {c for c in text if not c.isspace()}:
        assert char in joined


@FUZZ
@given(st.text(max_size=2000))
def test_markdown_sections_cover_the_text(text):
    sections = markdown_sections(text)
    for heading, offset, body in sections:
        assert text[offset : offset + len(body)] == body
        assert "\n" not in heading


@FUZZ
@given(st.text(max_size=500))
def test_is_garbled_is_total(text):
    assert is_garbled(text) in (True, False)


@FUZZ
@given(st.text(max_size=200))
def test_safe_filename_never_escapes(name):
    try:
        safe = safe_filename(name)
    except UploadError:
        return
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".") and safe not in ("", ".", "..")
    assert Path(safe).name == safe
