"""Retrieval quality on the real notes with the real embedding model (slow, runs in CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_dev_set_hit_at_5_and_refusals_with_bundled_e5(tmp_path):
    env = {
        **os.environ,
        "DATA_DIR": str(ROOT / "data"),
        "VECTORSTORE_DIR": str(tmp_path / "vs"),
    }
    env.pop("EMBEDDING_BACKEND", None)
    run = [sys.executable, "-m"]
    ingest = subprocess.run([*run, "rag.ingest", "-q"], env=env, capture_output=True, text=True)
    assert ingest.returncode == 0, ingest.stderr
    assert "5 files ingested, 0 failed" in ingest.stdout
    out = tmp_path / "dev.jsonl"
    dev = ROOT / "tests" / "data" / "dev_qa.jsonl"
    evaluation = subprocess.run(
        [*run, "rag.eval", str(dev), "--no-llm", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert evaluation.returncode == 0, evaluation.stderr
    summary = dict(
        line.strip().split(": ", 1) for line in evaluation.stdout.splitlines() if ": " in line
    )
    assert float(summary["hit@5"]) >= 0.9
    assert float(summary["mrr"]) >= 0.75
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == sum(1 for _ in dev.open(encoding="utf-8"))
