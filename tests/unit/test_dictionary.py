"""CC-CEDICT read backwards: English gloss → the notes' Chinese words."""

from __future__ import annotations

import logging

from rag.models import dictionary
from rag.models.dictionary import english_to_chinese
from rag.store.lexical import LexicalIndex
from rag.text.glossary import expand_query


def test_glosses_name_the_chinese_words_of_the_vocabulary():
    table = english_to_chinese({"约束", "损失", "模型"})
    assert table["constraint"] == ["约束"]
    assert table["constrain"] == ["约束"]  # "to constrain"
    assert table["loss"] == ["损失"]
    assert "retrieval" not in table  # 检索 is not in the vocabulary


def test_function_words_and_long_definitions_are_not_keys():
    table = english_to_chinese({"什么", "哪里", "约束"})
    assert "what" not in table and "where" not in table
    assert all(len(key.split()) <= dictionary.MAX_GLOSS_WORDS for key in table)


def test_a_missing_dictionary_gives_an_empty_table_and_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(dictionary, "_DATA", ("no_such_package_xyz", "data.txt.gz"))
    with caplog.at_level(logging.WARNING):
        assert english_to_chinese({"约束"}) == {}
    assert "CC-CEDICT unreadable" in caplog.text


def test_the_index_dictionary_follows_its_vocabulary_and_keeps_the_glossary():
    index = LexicalIndex()
    index.add([("a", "模型在计算预算下训练。")])
    assert "constraint" not in index.dictionary()
    index.add([("b", "在约束下优化损失。")])
    assert index.dictionary()["constraint"] == ["约束"]
    assert index.dictionary()["model"] == index.glossary()["model"] == ["模型"]
    assert expand_query("What constraint is the loss optimized under?", index.dictionary()) == [
        "约束",
        "损失",
        "优化",
    ]
