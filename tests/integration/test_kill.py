"""The kill test: SIGKILL ``python -m rag.ingest`` at random moments; the store must heal.

Drives ``scripts/kill_test.py``: a generated folder of Chinese notes, five
ingests killed at seeded random moments (with notes edited, added and deleted
between them, and one killed ``--rebuild``), then a normal run to completion.
The store must then equal a clean ingest of the same folder into another store
dir (chunk ids, texts, metadata, records, file rows, lexical ids), every
sampled chunk must be found by a vector query, and ``--verify`` must exit 0.

``KILL_TEST_FILES`` (default 80) and ``KILL_TEST_SEED`` (default 7) change the
corpus size and the kill moments.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kill_test.py"


def load_driver():
    spec = importlib.util.spec_from_file_location("kill_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_sigkilled_ingests_heal_to_a_clean_store(tmp_path):
    driver = load_driver()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        print(line)

    result = driver.kill_test(
        tmp_path / "kill",
        n_files=int(os.environ.get("KILL_TEST_FILES", "80")),
        kills=5,
        seed=int(os.environ.get("KILL_TEST_SEED", "7")),
        log=log,
    )
    report = "\n".join(lines)
    assert result.kills >= 3, report  # most runs must really be killed, not finish first
    assert result.final_code == 0, report
    assert result.verify_code == 0, report
    assert "consistent: Chroma, records, file rows and lexical index agree" in result.verify_output
    assert not result.differences, report
    assert result.chunks > 5 * int(os.environ.get("KILL_TEST_FILES", "80"))
    assert result.ok


@pytest.mark.slow
def test_app_killed_while_indexing_an_upload_heals_on_restart(tmp_path):
    driver = load_driver()
    lines: list[str] = []
    result = driver.app_kill_test(tmp_path / "app", upload_mb=1.5, seed=7, log=lines.append)
    report = "\n".join(lines)
    assert result.kills == 1, report  # killed while the upload was being indexed
    assert result.verify_code == 0, report
    assert "consistent: Chroma, records, file rows and lexical index agree" in result.verify_output
    assert not result.differences, report
    assert result.ok, report
