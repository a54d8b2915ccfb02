"""Helpers and constants shared by the benchmarks."""

from __future__ import annotations

import json
import logging
import math
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr

from rag.config import PROJECT_ROOT, Settings

logger = logging.getLogger("benchmarks")


DEFAULT_OUT = PROJECT_ROOT / "bench_out"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
DEFAULT_QUESTIONS = PROJECT_ROOT / "tests" / "data" / "dev_qa.jsonl"
#: Questions the local model answers with and without prompt lookup.
PROMPT_LOOKUP_QUESTIONS = 12
#: The "typical question" of the LLM and app measurements.
TYPICAL_QUESTION = "RAG 和微调有什么区别？"
#: Typical questions for the LLM timing, asked one after the other after the warm-up.
TYPICAL_QUESTIONS = (TYPICAL_QUESTION, "什么是思维链提示？它为什么有用？")
#: Appended to one note for the "one file edited" measurement.
EDIT_PARAGRAPH = (
    "\n\n补充（基准测试）：检索增强生成在回答前先从笔记中检索相关段落，"
    "再把段落和问题一起交给模型；微调则把知识写进模型参数。"
    "两者可以结合使用，先用微调学会格式，再用检索提供最新的事实。\n"
)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) of ``values``, linear interpolation; NaN if empty."""
    if not values:
        return math.nan
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def proc_memory(pid: int | str = "self") -> dict[str, float]:
    """Resident memory of a process from ``/proc/<pid>/status``.

    Args:
        pid: A process id, or ``"self"``.

    Returns:
        ``{"rss_mb": VmRSS, "hwm_mb": VmHWM}`` in MiB (empty where ``/proc``
        is not available).
    """
    wanted = {"VmRSS": "rss_mb", "VmHWM": "hwm_mb"}
    out: dict[str, float] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            out[wanted[key]] = round(int(value.split()[0]) / 1024, 1)
    return out


def dir_mb(path: Path) -> float:
    """Total size of ``path`` (a file, or the files below a folder) in MiB."""
    if not path.exists():
        return 0.0
    if path.is_file():
        return round(path.stat().st_size / 2**20, 2)
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return round(total / 2**20, 2)


def load_average() -> list[float] | None:
    """The 1/5/15-minute load averages, when the OS reports them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a child process.

    Secrets and unset (None) fields are left out.
    """
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None or isinstance(value, SecretStr):
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        env[name.upper()] = str(value)
    return env


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment plus ``settings`` and ``extra``, for a child process."""
    env = dict(os.environ)
    env.update(settings_env(settings))
    env.update(extra)
    return env


def with_paths(settings: Settings, **paths: Path) -> Settings:
    """A copy of ``settings`` with some fields replaced (paths made absolute)."""
    update = {k: Path(v).resolve() if isinstance(v, Path) else v for k, v in paths.items()}
    return settings.model_copy(update=update)


def read_questions(path: Path) -> list[str]:
    """The ``question`` of every line of a JSON Lines file."""
    questions = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if line.strip():
            question = str(json.loads(line).get("question", "")).strip()
            if question:
                questions.append(question)
    return questions


def dig(data: Any, dotted: str) -> Any:
    """``data["a"]["b"][0]`` for ``"a.b.0"``; None when any step is missing."""
    for part in dotted.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data
