"""Access rules: loopback needs no login, any other address does; APP_AUTH parsing."""

from __future__ import annotations

import pytest

from rag.web.security import is_loopback, parse_auth, resolve_auth


def test_loopback_needs_no_login():
    assert resolve_auth("127.0.0.1", None) is None
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


def test_other_addresses_require_a_login():
    with pytest.raises(ValueError, match="without a login: set APP_AUTH"):
        resolve_auth("0.0.0.0", None)
    assert resolve_auth("0.0.0.0", "ana:s3cret:x") == [("ana", "s3cret:x")]


def test_auth_file_and_bad_entries_without_leaking_passwords(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("# students\nana:pw1\nbo:pw2\n", encoding="utf-8")
    assert parse_auth(str(users)) == [("ana", "pw1"), ("bo", "pw2")]
    users.write_text("ana:pw1\nbo-hunter2\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        parse_auth(str(users))
    assert str(err.value) == f"APP_AUTH file {users}: entry 2 is not 'user:password'"
    assert "hunter2" not in str(err.value)
