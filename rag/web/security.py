"""Access rules for the web app: loopback by default, a login for anything else."""

from __future__ import annotations

import ipaddress
from pathlib import Path

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(spec: str | None) -> list[tuple[str, str]]:
    """Read ``APP_AUTH``: ``user:password``, or the path of a file with one pair per line.

    Args:
        spec: The setting's value.

    Returns:
        ``(user, password)`` pairs; empty when ``spec`` is empty.

    Raises:
        ValueError: A malformed pair or an unreadable file (the message never
            contains a password).
    """
    if not spec or not spec.strip():
        return []
    path = Path(spec).expanduser()
    if ":" not in spec or path.is_file():
        if not path.is_file():
            raise ValueError("APP_AUTH must be 'user:password' or the path of a file of them")
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        entries = [ln for ln in lines if ln and not ln.startswith("#")]
        where = f"APP_AUTH file {path}"
    else:
        entries, where = [spec.strip()], "APP_AUTH"
    pairs = []
    for number, entry in enumerate(entries, start=1):
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise ValueError(f"{where}: entry {number} is not 'user:password'")
        pairs.append((user.strip(), password))
    if not pairs:
        raise ValueError(f"{where}: no 'user:password' entries")
    return pairs


def resolve_auth(host: str, spec: str | None) -> list[tuple[str, str]] | None:
    """The login pairs to launch with, enforcing a login off loopback.

    Args:
        host: The address the server binds to.
        spec: ``APP_AUTH``.

    Returns:
        Pairs for Gradio's ``auth``, or None for no login (loopback only).

    Raises:
        ValueError: Binding to a non-loopback address without a login.
    """
    pairs = parse_auth(spec)
    if not pairs and not is_loopback(host):
        raise ValueError(
            f"refusing to serve on {host} without a login: set APP_AUTH to 'user:password' "
            "or to a file of such lines (or bind to 127.0.0.1)"
        )
    return pairs or None
