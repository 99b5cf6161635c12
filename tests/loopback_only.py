"""No test touches an address outside loopback: an audit hook refuses (and records) any other host.

Installed once per test process by ``tests/conftest.py``; the autouse fixture fails the test that
tried, naming the host, so a default public URL reached by mistake cannot pass silently.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterator

import pytest

_TRIED: list[str] = []
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", ""})


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str | bytes):
        return True  # AF_UNIX paths and the like
    name = host.decode() if isinstance(host, bytes) else host
    if name in _LOCAL_NAMES or name.startswith("/"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False  # a host name other than localhost
    return address.is_loopback or address.is_unspecified


def _hook(event: str, args: tuple) -> None:
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect":
        target = args[1]
        host = target[0] if isinstance(target, tuple) else target
    else:
        return
    if not _is_loopback(host):
        _TRIED.append(str(host))
        raise OSError(f"the test suite allows loopback only; refused {host!r}")


def install() -> None:
    """Add the hook (once per process: audit hooks cannot be removed)."""
    if not getattr(sys, "_heisttrace_loopback_only", False):
        sys.addaudithook(_hook)
        sys._heisttrace_loopback_only = True  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[None]:
    """Fail the test that tried to reach a host outside loopback."""
    start = len(_TRIED)
    yield
    tried = _TRIED[start:]
    if tried:
        pytest.fail(f"the test reached outside loopback: {sorted(set(tried))}")
