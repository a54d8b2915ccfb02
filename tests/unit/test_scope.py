"""Scopes: which notes and headings a question searches, checked and turned into filters."""

from __future__ import annotations

import pytest

from rag.store.lexical import LexicalIndex
from rag.store.scope import Scope, ScopeError, heading_matches, resolve_scope, scope_where

OUTLINE = {
    "notes/a.md": ["大模型微调", "大模型微调 > LoRA", "大模型微调 > LoRA > 低秩分解"],
    "b.txt": [],
    "c.md": ["LoRA"],
}


def test_a_heading_takes_in_itself_and_everything_under_it_by_whole_segments():
    assert heading_matches("大模型微调 > LoRA > 低秩分解", "LoRA")
    assert heading_matches("大模型微调 > LoRA", "大模型微调 > LoRA")
    assert heading_matches("大模型微调 > LoRA", "大模型微调")
    assert not heading_matches("大模型微调 > LoRA", "Lo")
    assert not heading_matches("大模型微调", "LoRA")


def test_notes_are_named_by_source_id_or_by_file_name():
    scope = resolve_scope(["a.md", "b.txt", "notes/a.md"], "", OUTLINE)
    assert scope == Scope(("notes/a.md", "b.txt"))
    assert scope_where(scope) == {"source": {"$in": ["notes/a.md", "b.txt"]}}


def test_a_heading_scope_filters_on_the_matching_chunk_headings():
    scope = resolve_scope(["notes/a.md"], "LoRA", OUTLINE)
    assert scope.headings == ("大模型微调 > LoRA", "大模型微调 > LoRA > 低秩分解")
    assert scope_where(scope) == {
        "$and": [
            {"source": {"$in": ["notes/a.md"]}},
            {"heading": {"$in": ["大模型微调 > LoRA", "大模型微调 > LoRA > 低秩分解"]}},
        ]
    }
    anywhere = resolve_scope([], "LoRA", OUTLINE)
    assert scope_where(anywhere) == {
        "heading": {"$in": ["LoRA", "大模型微调 > LoRA", "大模型微调 > LoRA > 低秩分解"]}
    }


def test_no_scope_is_no_filter():
    assert scope_where(resolve_scope([" "], " ", OUTLINE)) is None
    assert not Scope()


def test_an_unknown_note_or_heading_is_a_bilingual_error():
    with pytest.raises(ScopeError) as note:
        resolve_scope(["x.md"], "", OUTLINE)
    assert str(note.value) == (
        "知识库中没有这个文件：x.md（已有：notes/a.md, b.txt, c.md）。"
        " No such note in the knowledge base: x.md (indexed: notes/a.md, b.txt, c.md)."
    )
    with pytest.raises(ScopeError) as heading:
        resolve_scope(["b.txt"], "LoRA", OUTLINE)
    assert str(heading.value) == "b.txt中没有标题“LoRA”。 No heading 'LoRA' in b.txt."


def test_a_scope_round_trips_through_its_saved_form():
    scope = Scope(("a.md", "b.txt"), "LoRA")
    assert scope.as_dict() == {"source": ["a.md", "b.txt"], "heading": "LoRA"}
    assert Scope.from_dict(scope.as_dict()) == scope
    assert Scope.from_dict({"source": "a.md"}) == Scope(("a.md",))
    assert Scope.from_dict(None) == Scope() and Scope().as_dict() == {}
    with pytest.raises(ScopeError, match="Scope 'source' must be a file name or a list"):
        Scope.from_dict({"source": 3})


def test_bm25_ranks_only_among_the_scopes_chunks():
    index = LexicalIndex()
    index.add([("a", "LoRA 低秩矩阵"), ("b", "LoRA 微调"), ("c", "蒸馏 温度")])
    assert {i for i, _ in index.search("LoRA", 5)} == {"a", "b"}
    assert [i for i, _ in index.search("LoRA", 5, only={"b", "c"})] == ["b"]
    assert index.search("LoRA", 5, only=set()) == []
