"""The command-line entry points, run as subprocesses on temp dirs with fake embeddings."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli.common import run_cli
from rag.cli.eval import main as eval_main
from rag.config import Settings
from rag.services import NotesQA
from rag.store.knowledge_base import KnowledgeBase
from tests.helpers import FIXTURES, SETTINGS_ENV

REPO = Path(__file__).resolve().parents[2]
GOOD = ["gbk_note.txt", "headings.md", "multipage.pdf"]
SUMMARY_RE = re.compile(
    r"^(\d+) files ingested, (\d+) failed: chunks added (\d+), updated 0, skipped (\d+), "
    r"deleted 0; [\d.]+ s, [\d.]+ chunks/s$"
)


def run(module: str, *args: str, root: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS_ENV}
    env.update(
        DATA_DIR=str(root / "data"),
        VECTORSTORE_DIR=str(root / "store"),
        EMBEDDING_BACKEND="fake",
        LLM_PROVIDER="fake",
        CHUNK_SIZE="120",
        CHUNK_OVERLAP="40",
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_root(root: Path, names: list[str]) -> Path:
    (root / "data").mkdir(parents=True)
    for name in names:
        shutil.copyfile(FIXTURES / name, root / "data" / name)
    return root


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A store ingested by the CLI from three good files."""
    root = make_root(tmp_path_factory.mktemp("good"), GOOD)
    return root, run("rag.ingest", "-q", root=root)


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """A store ingested by the CLI from the good files plus a corrupt PDF."""
    root = make_root(tmp_path_factory.mktemp("bad"), [*GOOD, "corrupt.pdf"])
    return root, run("rag.ingest", "-q", root=root)


def ask_json(root: Path, question: str) -> dict:
    proc = run("rag.ask", question, "--no-llm", "--json", root=root)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_ingest_ok_prints_summary(good):
    _, proc = good
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    match = SUMMARY_RE.match(lines[0])
    assert match, lines[0]
    n_files, n_failed, added, skipped = map(int, match.groups())
    assert (n_files, n_failed, skipped) == (3, 0, 0)
    assert added >= 4


def test_ingest_with_bad_file_exits_1_and_keeps_good_files(bad):
    root, proc = bad
    assert proc.returncode == 1
    assert SUMMARY_RE.match(proc.stdout.strip()).groups()[:2] == ("3", "1")
    assert "corrupt.pdf: not a readable PDF (corrupt or truncated file)" in proc.stderr
    settings = Settings(
        data_dir=root / "data",
        vectorstore_dir=root / "store",
        embedding_backend="fake",
        chunk_size=120,
        chunk_overlap=40,
    )
    record = NotesQA(KnowledgeBase(settings)).ask("第三页讲的是向量数据库", use_llm=False)
    assert {s["source"] for s in record["sources"]} == set(GOOD)
    assert (record["sources"][0]["source"], record["sources"][0]["page"]) == ("multipage.pdf", 3)


def test_ingest_bad_file_reason_is_one_line(bad):
    _, proc = bad
    naming = [line for line in proc.stderr.splitlines() if "corrupt.pdf" in line]
    assert len(naming) == 1, proc.stderr
    assert "not a readable PDF" in naming[0]


def test_ask_no_llm_json_contract(good):
    root, _ = good
    record = ask_json(root, "LoRA 是怎么近似权重更新的？")
    assert set(record) == {"id", "question", "answer", "sources", "timings_ms"}
    assert record["question"] == "LoRA 是怎么近似权重更新的？"
    assert record["answer"] == ""
    assert set(record["timings_ms"]) == {"retrieve", "generate", "total"}
    assert all(isinstance(v, (int, float)) for v in record["timings_ms"].values())
    assert [s["rank"] for s in record["sources"]] == [1, 2, 3, 4, 5]
    for source in record["sources"]:
        assert set(source) == {"rank", "source", "page", "heading", "text", "score"}
        assert source["source"] in GOOD
    top = record["sources"][0]
    assert (top["source"], top["page"]) == ("headings.md", None)
    assert top["heading"] == "大模型微调 > LoRA > 低秩分解"
    assert "LoRA 通过低秩矩阵近似权重更新。" in top["text"]
    scores = [s["score"] for s in record["sources"]]
    assert scores == sorted(scores, reverse=True)


def test_eval_writes_records_and_prints_metrics(good):
    root, _ = good
    questions = [
        {
            "id": "q1",
            "question": "LoRA 通过低秩矩阵近似什么？",
            "evidence": ["低秩矩阵近似权重更新"],
        },
        {"id": "q2", "question": "第三页讲的是什么", "source": "multipage.pdf", "page": 3},
        {"question": "稀疏注意力和滑动窗口用来做什么", "evidence": ["稀疏注意力、滑动窗口"]},
    ]
    infile, out = root / "qs.jsonl", root / "out.jsonl"
    infile.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions) + "\n")
    proc = run("rag.eval", str(infile), "--no-llm", "--out", str(out), root=root)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["q1", "q2", "3"]
    assert [r["question"] for r in records] == [q["question"] for q in questions]
    assert all(r["answer"] == "" and len(r["sources"]) == 5 for r in records)
    metrics = dict(
        (key.strip(), value.strip())
        for key, value in (line.split(":", 1) for line in proc.stdout.splitlines())
    )
    assert metrics["n"] == "3"
    assert metrics["n_scored"] == "3"
    assert {k: metrics[k] for k in ("hit@1", "hit@3", "hit@5", "mrr")} == {
        "hit@1": "1.0",
        "hit@3": "1.0",
        "hit@5": "1.0",
        "mrr": "1.0",
    }


def test_eval_rejects_invalid_json(tmp_path):
    root = make_root(tmp_path / "root", [])
    infile = root / "qs.jsonl"
    infile.write_text('{"question": "好问题"}\n{not json\n', encoding="utf-8")
    proc = run("rag.eval", str(infile), "--no-llm", root=root)
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {infile}:2: not valid JSON (")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "x", "evidence": ["甲"]}\n', ":1: each line needs a non-empty 'question'"),
        (
            '{"question": "好"}\n\n{"question": "  "}\n',
            ":3: each line needs a non-empty 'question'",
        ),
        ('["a list"]\n', ":1: each line needs a non-empty 'question'"),
        ("\n\n", ": no questions"),
        (
            '{"question": "它呢？", "turns": "什么是微调？"}\n',
            ":1: 'turns' must be a list of earlier questions",
        ),
        (
            '{"question": "它呢？", "turns": ["", "x"]}\n',
            ":1: 'turns' must be a list of earlier questions",
        ),
    ],
)
def test_eval_rejects_lines_without_question(tmp_path, capsys, content, message):
    # Same entry point as the subprocess (run_cli around main), in-process to save time.
    infile = tmp_path / "qs.jsonl"
    infile.write_text(content, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: eval_main([str(infile), "--no-llm"]))
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {infile}{message}\n"


def test_ask_source_restricts_the_passages_to_that_note(good):
    root, _ = good
    proc = run("rag.ask", "LoRA 是怎么近似权重更新的？", "--no-llm", "--json",
               "--source", "multipage.pdf", "--source", "gbk_note.txt", root=root)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["scope"] == {"source": ["multipage.pdf", "gbk_note.txt"]}
    assert {s["source"] for s in record["sources"]} == {"multipage.pdf", "gbk_note.txt"}


def test_ask_heading_takes_the_heading_and_everything_under_it(good):
    root, _ = good
    proc = run("rag.ask", "微调", "--no-llm", "--json", "--heading", "LoRA", root=root)
    assert proc.returncode == 0, proc.stderr
    headings = {s["heading"] for s in json.loads(proc.stdout)["sources"]}
    assert headings == {"大模型微调 > LoRA", "大模型微调 > LoRA > 低秩分解"}


def test_ask_text_says_the_scope(good):
    root, _ = good
    proc = run("rag.ask", "微调", "--no-llm", "--source", "headings.md", "--heading",
               "全参数微调", root=root)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(
        "(只在 headings.md § 全参数微调 中查找 searching only headings.md § 全参数微调)\n[1] "
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "nope.md"], "error: 知识库中没有这个文件：nope.md（已有："),
        (["--source", "multipage.pdf", "--heading", "LoRA"],
         "error: multipage.pdf中没有标题“LoRA”。 No heading 'LoRA' in multipage.pdf.\n"),
    ],
)  # fmt: skip
def test_ask_unknown_scope_exits_2_with_a_bilingual_error(good, args, message):
    root, _ = good
    proc = run("rag.ask", "微调", "--no-llm", *args, root=root)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(message)


def test_eval_honours_each_lines_scope_and_the_default_one(good):
    root, _ = good
    questions = [
        {"id": "a", "question": "微调", "scope": {"source": "gbk_note.txt"}},
        {"id": "b", "question": "微调", "scope": {"heading": "全参数微调"}},
        {"id": "c", "question": "微调"},
    ]
    infile = root / "scoped.jsonl"
    infile.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions) + "\n")
    proc = run("rag.eval", str(infile), "--no-llm", "--source", "multipage.pdf", root=root)
    assert proc.returncode == 0, proc.stderr
    records = {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert {s["source"] for s in records["a"]["sources"]} == {"gbk_note.txt"}
    assert {s["heading"] for s in records["b"]["sources"]} == {"大模型微调 > 全参数微调"}
    assert {s["source"] for s in records["c"]["sources"]} == {"multipage.pdf"}


def test_eval_rejects_an_unknown_scope_before_answering(good):
    root, _ = good
    infile = root / "bad_scope.jsonl"
    infile.write_text('{"question": "微调"}\n{"question": "微调", "scope": {"source": "x.md"}}\n')
    proc = run("rag.eval", str(infile), "--no-llm", root=root)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(f"error: {infile}: question 2: 知识库中没有这个文件：x.md")


def test_notes_qa_feedback_export_writes_the_ratings_as_eval_lines(good):
    root, _ = good
    kb = KnowledgeBase(Settings(data_dir=root / "data", vectorstore_dir=root / "store"))
    passages = [{"source": "headings.md", "location": "大模型微调 · LoRA", "text": "LoRA 低秩。"}]
    kb.feedback.add("", "up", "LoRA 是什么？", "低秩[1]。", passages)
    kb.feedback.add("", "down", "全参数微调呢？", "不知道。", passages)
    kb.feedback.close()
    out = root / "exported" / "up.jsonl"
    proc = run("rag.cli.main", "feedback", "export", "--only", "up", "--out", str(out), root=root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"1 ratings -> {out}\n"
    (line,) = map(json.loads, out.read_text(encoding="utf-8").splitlines())
    assert (line["question"], line["source"], line["evidence"]) == (
        "LoRA 是什么？", "headings.md", ["LoRA 低秩。"]
    )  # fmt: skip
    everything = run("rag.feedback", "export", root=root)
    assert [json.loads(x)["rating"] for x in everything.stdout.splitlines()] == ["up", "down"]
    bad = run("rag.feedback", "export", "--only", "sideways", root=root)
    assert bad.returncode == 2 and "invalid choice: 'sideways'" in bad.stderr
