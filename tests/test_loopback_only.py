"""The suite's loopback guard refuses other hosts (and lets loopback through)."""

from __future__ import annotations

import socket

import pytest

from tests import loopback_only


def test_loopback_is_allowed_and_other_hosts_are_refused() -> None:
    assert all(loopback_only._is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.8.9.1"))
    assert not any(loopback_only._is_loopback(h) for h in ("li.quest", "8.8.8.8", "api.etherscan.io"))
    before = len(loopback_only._TRIED)
    with pytest.raises(OSError, match="loopback only"):
        socket.getaddrinfo("api.etherscan.io", 443)
    assert loopback_only._TRIED[before:] == ["api.etherscan.io"]
    del loopback_only._TRIED[before:]  # this test tried on purpose
