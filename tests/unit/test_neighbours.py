"""Two neighbouring chunks that both rank high are shown as one passage."""

from __future__ import annotations

from langchain_core.documents import Document

from rag.retrieval.neighbours import group_neighbours, join_texts


def chunk(index: int, heading: str = "RAG", source: str = "a.md", table: bool = False) -> Document:
    meta = {"source": source, "heading": heading, "chunk_index": index, "table": table}
    return Document(page_content=f"chunk {index}", metadata=meta)


def ids(passages) -> list[list[str]]:
    return [[chunk_id for chunk_id, _ in p.in_order()] for p in passages]


def test_a_close_scoring_neighbour_joins_the_better_chunk_and_frees_its_slot():
    ranked = [(1.90, "c5", chunk(5)), (1.87, "c6", chunk(6)), (1.80, "c9", chunk(9))]
    assert ids(group_neighbours(ranked, k=2)) == [["c5", "c6"], ["c9"]]


def test_the_passage_lists_its_chunks_in_note_order_and_keeps_the_best_score():
    ranked = [(1.90, "c6", chunk(6)), (1.88, "c5", chunk(5))]
    [passage] = group_neighbours(ranked, k=5)
    assert ids([passage]) == [["c5", "c6"]]
    assert passage.score == 1.90


def test_a_neighbour_that_scores_far_lower_stays_a_passage_of_its_own():
    ranked = [(1.90, "c5", chunk(5)), (1.80, "c6", chunk(6))]
    assert ids(group_neighbours(ranked, k=5)) == [["c5"], ["c6"]]


def test_chunks_of_another_section_or_note_are_not_joined():
    ranked = [
        (1.90, "c5", chunk(5)),
        (1.89, "x6", chunk(6, heading="微调")),
        (1.88, "y4", chunk(4, source="b.md")),
    ]
    assert ids(group_neighbours(ranked, k=5)) == [["c5"], ["x6"], ["y4"]]


def test_a_table_chunk_joins_the_next_rows_of_its_table_not_the_prose_before_it():
    ranked = [
        (1.927, "t13", chunk(13, table=True)),
        (1.926, "p12", chunk(12)),
        (1.923, "t14", chunk(14, table=True)),
    ]
    assert ids(group_neighbours(ranked, k=5)) == [["t13", "t14"], ["p12"]]


def test_a_passage_holds_two_chunks_at_most():
    ranked = [(1.90, "c5", chunk(5)), (1.89, "c6", chunk(6)), (1.88, "c4", chunk(4))]
    assert ids(group_neighbours(ranked, k=5)) == [["c5", "c6"], ["c4"]]


def test_overlapping_chunks_are_written_with_their_overlap_once():
    first = "RAG 先检索相关段落。然后把段落和问题一起交给模型生成答案。"
    second = "然后把段落和问题一起交给模型生成答案。这样答案有出处。"
    assert join_texts([first, second]) == (
        "RAG 先检索相关段落。然后把段落和问题一起交给模型生成答案。这样答案有出处。"
    )


def test_chunks_that_do_not_overlap_are_joined_on_a_new_line():
    assert join_texts(["第一段。", "第二段。"]) == "第一段。\n第二段。"


def test_a_table_chunk_caption_repeated_by_the_next_chunk_is_written_once():
    first = "RAG 和微调的对比（特征 | RAG | 微调）\n知识更新：RAG 直接更新知识库"
    second = "RAG 和微调的对比（特征 | RAG | 微调）\n可解释性：RAG 可以追溯来源"
    assert join_texts([first, second]) == (
        "RAG 和微调的对比（特征 | RAG | 微调）\n知识更新：RAG 直接更新知识库\n可解释性：RAG 可以追溯来源"
    )
