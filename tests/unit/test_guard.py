"""Login throttling, inert Markdown and linear tokenizing: the pure rules."""

from __future__ import annotations

from rag.text.tokens import MAX_RUN, bounded_runs, tokenize
from rag.web.guard import LoginThrottle
from rag.web.render import inert_markdown


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_waits_after_the_limit_and_doubles():
    clock = Clock()
    throttle = LoginThrottle(max_failures=2, lockout_seconds=10, clock=clock)
    throttle.failed("a")
    assert throttle.wait("a") == 0
    throttle.failed("a")
    assert throttle.wait("a") == 10
    throttle.failed("a")
    assert throttle.wait("a") == 20
    assert throttle.wait("b") == 0
    clock.now += 20
    assert throttle.wait("a") == 0


def test_a_success_forgets_the_failures():
    throttle = LoginThrottle(max_failures=1, lockout_seconds=10, clock=Clock())
    throttle.failed("a")
    throttle.succeeded("a")
    assert throttle.wait("a") == 0


def test_images_and_tags_become_text():
    text = 'x <img src="http://h/i.png"> ![cat](http://h/c.png) ![r][1] <iframe src=u></iframe>'
    assert inert_markdown(text) == (
        'x &lt;img src="http://h/i.png"> [🖼 cat] [🖼 r] &lt;iframe src=u>&lt;/iframe>'
    )


def test_plain_markdown_is_kept():
    text = "**RAG** 和 *微调*: a < b, [论文](http://h/p) `x`, $a^2$"
    assert inert_markdown(text) == text


def test_long_runs_are_cut_and_normal_text_is_not():
    assert bounded_runs("注" * (2 * MAX_RUN + 1)) == " ".join(
        ["注" * MAX_RUN, "注" * MAX_RUN, "注"]
    )
    assert bounded_runs("检索增强生成（RAG）是什么？") == "检索增强生成（RAG）是什么？"
    assert tokenize("RAG 和微调有什么区别？") == ["rag", "微调"]
