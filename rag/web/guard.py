"""ASGI middleware in front of the Gradio app: login throttling and a resource policy.

* Wrong passwords are logged and counted per client address; after
  ``LOGIN_MAX_FAILURES`` in a row the client waits ``LOGIN_LOCKOUT_SECONDS``
  (doubling with each further failure, at most an hour) and its logins are
  answered 429 without being checked.
* Every response carries a Content-Security-Policy that lets the page load
  images, media and frames from the app itself only, so nothing a note, a
  question or the model writes can make the browser fetch a remote URL.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the page may load images, media, frames and plugins from.
RESOURCE_POLICY = (
    "img-src 'self' data: blob:; media-src 'self' data: blob:; frame-src 'self'; "
    "object-src 'none'; base-uri 'self'"
)
#: Longest wait a client is given, in seconds.
MAX_LOCKOUT = 3600.0
#: Clients remembered before the oldest quiet ones are forgotten.
MAX_CLIENTS = 10_000


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """Consecutive login failures per client, and how long each must wait."""

    def __init__(
        self,
        max_failures: int,
        lockout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Count failures; a client waits after ``max_failures`` of them in a row."""
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self._clients: dict[str, _Failures] = {}

    def wait(self, client: str) -> float:
        """Seconds ``client`` must still wait before a login is checked (0: none)."""
        state = self._clients.get(client)
        return max(0.0, state.locked_until - self.clock()) if state else 0.0

    def failed(self, client: str) -> int:
        """Count a wrong password; returns the failures in a row."""
        now = self.clock()
        if len(self._clients) >= MAX_CLIENTS and client not in self._clients:
            self._forget_quiet(now)
        state = self._clients.setdefault(client, _Failures())
        state.count += 1
        state.last = now
        over = state.count - self.max_failures
        if over >= 0:
            state.locked_until = now + min(MAX_LOCKOUT, self.lockout_seconds * 2**over)
        return state.count

    def succeeded(self, client: str) -> None:
        """A correct login clears the client's failures."""
        self._clients.pop(client, None)

    def _forget_quiet(self, now: float) -> None:
        for client, state in sorted(self._clients.items(), key=lambda kv: kv[1].last):
            if len(self._clients) < MAX_CLIENTS // 2:
                break
            if state.locked_until <= now:
                del self._clients[client]


class WebGuard:
    """The ASGI middleware: throttles ``POST /login`` and adds :data:`RESOURCE_POLICY`."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        """Wrap ``app``."""
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        login = scope.get("method") == "POST" and scope.get("path", "").rstrip("/").endswith(
            "/login"
        )
        client = str((scope.get("client") or ("unknown", 0))[0])
        if login:
            wait = self.throttle.wait(client)
            if wait > 0:
                logger.warning("login from %s refused: locked for %.0f s more", client, wait)
                await _too_many(send, wait)
                return
        status = 0

        async def send_with_policy(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", RESOURCE_POLICY.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_policy)
        if login and status == 400:
            count = self.throttle.failed(client)
            logger.warning("login failed from %s (%d in a row)", client, count)
        elif login and status == 200:
            self.throttle.succeeded(client)


async def _too_many(send: Send, wait: float) -> None:
    seconds = max(1, round(wait))
    body = json.dumps(
        {
            "detail": f"登录失败次数过多，请 {seconds} 秒后再试。"
            f"Too many failed logins: try again in {seconds} s."
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"retry-after", str(seconds).encode()),
                (b"content-security-policy", RESOURCE_POLICY.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
