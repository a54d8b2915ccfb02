"""A stream of events with a heartbeat: ``None`` whenever none arrives for a while.

The page shows the seconds spent waiting for the local model's first words;
a generator blocked inside the model cannot say that itself, so
:func:`with_heartbeat` reads it in a thread. Closing the returned iterator
(Gradio does when Stop is pressed) closes the source at its next event.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


def with_heartbeat(events: Iterator[T], every: float) -> Iterator[T | None]:
    """Yield ``events`` as they come, and ``None`` each ``every`` seconds without one.

    Args:
        events: The source; read in a daemon thread.
        every: Seconds of silence before a ``None``.

    Yields:
        The source's items, or ``None`` as a heartbeat. An exception of the
        source is raised here.
    """
    box: queue.Queue[object] = queue.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for item in events:
                box.put(item)
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the reader, raised there
            box.put(exc)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            box.put(_END)

    threading.Thread(target=pump, name="answer-stream", daemon=True).start()
    try:
        while True:
            try:
                item = box.get(timeout=every)
            except queue.Empty:
                yield None
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
