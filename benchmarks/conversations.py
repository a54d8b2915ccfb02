"""``python -m benchmarks.conversations [--turns N] [--conversations N] [--page]``.

A benchmark script, not a test: it prints how long saved conversations take.

1. **Open** a conversation of ``--turns`` turns (default 200; each turn a
   question, an answer of about 300 characters and a sources block of five
   passages, as the page saves them) through the facade
   (:meth:`NotesQA.conversation`) and the page's handler
   (:meth:`WebHandlers.open_conversation`); with ``--page``, also in Chromium:
   from the click in the sidebar to the last question on screen (the median of
   three openings, after a new chat each time; the page shows the last
   :data:`rag.web.app.OPEN_TURNS` turns and keeps the rest saved).
2. **List and search** the sidebar with ``--conversations`` saved conversations
   (default 1,000, ten turns each): the list, a search that matches a few,
   and one that matches none (the whole text is searched), through the facade
   and the handler that fills the sidebar.

Everything runs in a temporary folder with fake models; medians of
``--repeat`` runs (default 7), in seconds.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from rag.config import Settings
from rag.services import NotesQA
from rag.web.app import WebHandlers, build_app
from rag.web.render import history_pairs, sources_html

logger = logging.getLogger("benchmarks")

#: The browser of the ``--page`` figure (``scripts/install_browser.sh`` installs it).
CHROMIUM = Path("/usr/bin/chromium")

PASSAGE = (
    "注意力机制让模型在生成每个词时关注输入序列中最相关的部分。自注意力用查询、键和值计算权重，"
    "多头注意力把表示拆成多个子空间分别计算，再拼接起来。"
) * 3
ANSWER = (
    "根据笔记[1]：注意力机制让模型关注输入中最相关的部分[1]。多头注意力把表示拆成多个子空间[2]，"
    "每个头学习不同的关系，最后拼接并投影回原来的维度[2]。"
) * 2


class _Request:
    """What the handlers read of Gradio's request: the login name (none, as the page has)."""

    username = None


def synthetic_chat(turns: int, tag: str = "") -> list[dict[str, Any]]:
    """A chat as the page saves it: question, answer and sources block per turn."""
    docs = [
        Document(
            f"{PASSAGE}（第{i}段）",
            metadata={"source": f"note{i}.md", "title": f"笔记{i}", "heading": "注意力 > 多头"},
        )
        for i in range(1, 6)
    ]
    block = sources_html(docs)
    messages: list[dict[str, Any]] = []
    for turn in range(1, turns + 1):
        messages += [
            {"role": "user", "content": f"第{turn}个问题{tag}：什么是多头注意力？"},
            {"role": "assistant", "content": ANSWER},
            {"role": "assistant", "content": block},
        ]
    return messages


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def seed(services: NotesQA, owner: str, count: int, turns: int) -> list[str]:
    """Save ``count`` conversations of ``turns`` turns each; their ids, oldest first."""
    ids = []
    for number in range(count):
        messages = synthetic_chat(turns, tag=f"#{number}")
        chat_id = services.new_conversation(owner, f"对话 {number} · 多头注意力")
        services.save_conversation(chat_id, owner, messages, len(history_pairs(messages)))
        ids.append(chat_id)
    return ids


def page_open_seconds(services: NotesQA, settings: Settings, title: str, turns: int) -> float:
    """In Chromium: from the click on ``title`` in the sidebar to its last question shown."""
    from playwright.sync_api import expect, sync_playwright

    app = build_app(settings, services)
    app.launch(prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox"]
            )
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            page.set_default_timeout(120_000)
            page.goto(app.local_url)
            option = page.locator("#nqa-conversations label", has_text=title)
            option.wait_for()
            last = page.locator("#nqa-chat [data-testid='user']", has_text=f"第{turns}个问题")
            times = []
            for _ in range(3):
                page.get_by_role("button", name="➕ 新对话 New chat").click()
                expect(page.locator("#nqa-chat [data-testid='user']")).to_have_count(0)
                time.sleep(0.5)
                started = time.perf_counter()
                option.click()
                expect(last.first).to_be_visible(timeout=120_000)
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            browser.close()
    finally:
        app.close()
    return seconds


def bench_conversations(
    root: Path, turns: int = 200, conversations: int = 1000, repeat: int = 7, page: bool = False
) -> dict[str, float]:
    """Time opening a long conversation and listing / searching many (see the module docstring).

    Args:
        root: An empty temp folder.
        turns: Turns of the long conversation.
        conversations: Saved conversations for the sidebar figures.
        repeat: Runs per figure (the median is reported).
        page: Also time the long conversation's opening in Chromium.

    Returns:
        Seconds per figure.
    """
    (root / "data").mkdir(parents=True, exist_ok=True)
    settings = Settings(
        data_dir=root / "data",
        vectorstore_dir=root / "store",
        embedding_backend="fake",
        llm_provider="fake",
    )
    services = NotesQA.from_settings(settings)
    handlers = WebHandlers(services)
    request: Any = _Request()
    owner = ""  # no APP_AUTH, as the page in --page
    (long_id,) = seed(services, owner, 1, turns)
    services.rename_conversation(long_id, owner, "长对话 long chat")
    out = {
        "open_facade_s": median_seconds(lambda: services.conversation(long_id, owner), repeat),
        "open_handler_s": median_seconds(
            lambda: handlers.open_conversation(long_id, request), repeat
        ),
    }
    if page:
        out["open_page_s"] = page_open_seconds(services, settings, "长对话 long chat", turns)
    started = time.perf_counter()
    seed(services, owner, conversations - 1, 10)
    logger.info("seeded %d conversations in %.1f s", conversations, time.perf_counter() - started)
    out["list_facade_s"] = median_seconds(lambda: services.conversations(owner), repeat)
    out["list_handler_s"] = median_seconds(lambda: handlers.conversation_list(owner), repeat)
    out["search_hit_s"] = median_seconds(lambda: handlers.conversation_list(owner, "#99："), repeat)
    out["search_miss_s"] = median_seconds(
        lambda: handlers.conversation_list(owner, "不存在的词"), repeat
    )
    services.kb.record_manager.close()
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conversations", description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--page", action="store_true", help="also time the page in Chromium")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the figures.

    Returns:
        The exit code.
    """
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="notes-qa-bench-chats-") as tmp:
        figures = bench_conversations(
            Path(tmp), args.turns, args.conversations, args.repeat, args.page
        )
    for name, seconds in figures.items():
        print(f"{name:>16}: {seconds * 1000:9.1f} ms")
    return 0


if __name__ == "__main__":
    from rag.cli.common import run_cli

    run_cli(main)
