"""Citation markers added to the answer lines the model left uncited."""

from __future__ import annotations

from rag.answer.citations import attribute

PASSAGES = [
    "微调是在特定数据集上继续训练模型的参数，需要标注数据和训练算力。",
    "检索增强生成先从知识库中检索相关片段，再交给大模型生成回答。",
]


def test_uncited_line_gets_the_passage_it_restates():
    answer = "检索增强生成先从知识库检索相关片段。\n微调需要标注数据和算力。"
    assert attribute(answer, PASSAGES) == (
        "检索增强生成先从知识库检索相关片段[2]。\n微调需要标注数据和算力[1]。"
    )


def test_cited_lines_colon_lines_and_unsupported_lines_are_left_alone():
    answer = "根据笔记：\n微调需要标注数据[2]。\n量子计算机使用超导比特。\n"
    assert attribute(answer, PASSAGES) == answer


def test_english_marker_goes_before_the_full_stop_with_a_space():
    passages = ["LoRA freezes the base weights and trains low-rank adapters."]
    answer = "According to your notes:\n- LoRA trains low-rank adapters on frozen weights."
    assert attribute(answer, passages) == (
        "According to your notes:\n- LoRA trains low-rank adapters on frozen weights [1]."
    )


def test_no_passages_means_no_markers():
    assert attribute("检索增强生成先检索片段。", []) == "检索增强生成先检索片段。"


def test_list_labels_counting_past_the_passages_are_not_citations():
    answer = "- [1] 微调需要标注数据和算力。\n- [2] 量子计算机。\n- [3] 超导比特。"
    assert (
        attribute(answer, PASSAGES)
        == "1. 微调需要标注数据和算力[1]。\n2. 量子计算机。\n3. 超导比特。"
    )


def test_leading_markers_within_the_passages_stay_citations():
    answer = "[2] 检索增强生成先检索片段。\n[1] 微调需要标注数据。"
    assert attribute(answer, PASSAGES) == answer
