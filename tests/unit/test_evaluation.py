"""Eval metrics: hits, ranks, keyword coverage, percentiles, batch summary."""

from __future__ import annotations

import pytest

from rag.services.evaluation import first_hit_rank, is_hit, keyword_coverage, percentile, summarize


def src(text="", source="notes/a.txt", page=None):
    return {"text": text, "source": source, "page": page}


def test_hit_by_evidence_ignores_whitespace_and_case():
    gold = {"evidence": ["LoRA 通过 低秩矩阵\n近似权重更新"]}
    assert is_hit(src("前文。lora通过低秩矩阵近似 权重更新。后文"), gold)
    assert not is_hit(src("LoRA 通过低秩矩阵近似偏置更新"), gold)


def test_hit_by_any_evidence_and_blank_evidence_never_hits():
    gold = {"evidence": ["不存在的句子", "向量数据库"]}
    assert is_hit(src("向量 数据库保存嵌入"), gold)
    assert not is_hit(src("任何文本"), {"evidence": ["  ", ""]})


def test_hit_by_source_file_name_and_page():
    gold = {"source": "multipage.pdf", "page": 3}
    assert is_hit(src("无关", "sub/dir/multipage.pdf", 3), gold)
    assert not is_hit(src("无关", "sub/dir/multipage.pdf", 1), gold)
    assert not is_hit(src("无关", "other.pdf", 3), gold)
    assert not is_hit(src("无关", "multipage.pdf", 3), {"source": "multipage.pdf"})


def test_first_hit_rank():
    gold = {"evidence": ["目标"]}
    assert first_hit_rank([src("a"), src("b"), src("有目标"), src("目标")], gold) == 3
    assert first_hit_rank([src("a")], gold) is None


def test_keyword_coverage_fractions():
    groups = [["6ND", "6 N D"], ["损失", "loss"], ["缩放定律"]]
    assert keyword_coverage("最优分配满足 C≈6 n d，最小化 Loss", groups) == 2 / 3
    assert keyword_coverage("缩放定律和损失", groups[1:]) == 1.0
    assert keyword_coverage("什么都没有", groups) == 0.0
    assert keyword_coverage("任意", []) is None


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [
        ([], 50, 0.0),
        ([7.0], 95, 7.0),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.0),
        ([4.0, 1.0, 3.0, 2.0], 95, 4.0),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0, 10.0),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 60, 30.0),
    ],
)
def test_percentile_nearest_rank(values, pct, expected):
    assert percentile(values, pct) == expected


def record(sources, answer="", retrieve=10.0, refused=None):
    rec = {"answer": answer, "sources": sources, "timings_ms": {"retrieve": retrieve}}
    if refused is not None:
        rec["refused"] = refused
    return rec


def test_summarize_retrieval_only_batch():
    golds = [
        {"question": "q1", "evidence": ["甲"]},
        {"question": "q2", "evidence": ["乙"]},
        {"question": "q3", "source": "b.pdf", "page": 2},
        {"question": "q4", "evidence": ["丁"]},
        {"question": "q5"},  # nothing to score retrieval against
    ]
    records = [
        record([src("甲")], retrieve=5.0),
        record([src("x"), src("y"), src("乙")], retrieve=1.0),
        record([src("x")] * 4 + [src("z", "docs/b.pdf", 2)], retrieve=3.0),
        record([src("x")] * 5, retrieve=2.0),
        record([src("x")], retrieve=4.0),
    ]
    assert summarize(golds, records) == {
        "n": 5,
        "n_scored": 4,
        "hit@1": 0.25,
        "hit@2": 0.25,
        "hit@3": 0.5,
        "hit@5": 0.75,
        "mrr": round((1 + 1 / 3 + 1 / 5) / 4, 4),
        "retrieve_ms_p50": 3.0,
        "retrieve_ms_p95": 5.0,
    }


def test_summarize_with_answers_and_refusals():
    golds = [
        {"question": "q1", "evidence": ["甲"], "keywords": [["甲"], ["乙"]]},
        {"question": "q2", "evidence": ["乙"], "keywords": [["乙"]]},
        {"question": "q3", "answerable": False},
        {"question": "q4", "answerable": False},
    ]
    records = [
        record([src("甲")], answer="答案提到甲", refused=False),
        record([src("x")], answer="资料中没有相关内容", refused=True),
        record([], answer="资料中没有相关内容", refused=True),
        record([src("x")], answer="瞎编的答案", refused=False),
    ]
    summary = summarize(golds, records)
    assert summary["n"] == 4
    assert summary["n_scored"] == 2
    assert summary["hit@1"] == 0.5
    assert summary["mrr"] == 0.5
    assert summary["keyword_coverage"] == 0.5  # refused answers are not scored
    assert summary["refused_answerable"] == 0.5
    assert summary["refused_unanswerable"] == 0.5
    assert summary["unsupported_figures"] == 0.0


def test_summarize_counts_answers_with_figures_no_passage_holds():
    golds = [{"question": "GPT-4 在 MMLU 上得了多少分？"}, {"question": "q2"}, {"question": "q3"}]
    records = [
        {
            **record(
                [src("GPT-4 是一个多模态模型")], answer="GPT-4 的得分为 86.4 分[1]", refused=False
            ),
            "question": "GPT-4 在 MMLU 上得了多少分？",
        },
        record([src("BERT 有 3.4 亿参数")], answer="BERT 有 3.4 亿参数[1]", refused=False),
        record([src("x")], answer="笔记中没有找到相关内容。", refused=True),
    ]
    assert summarize(golds, records)["unsupported_figures"] == 0.5


def test_summarize_without_scorable_questions():
    summary = summarize([{"question": "q"}], [record([])])
    assert summary["n_scored"] == 0
    assert summary["hit@1"] is None
    assert summary["mrr"] is None
    assert "keyword_coverage" not in summary
