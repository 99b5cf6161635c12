"""Emulators whose answers are mangled on the way out: one field of one row set to null, negative or junk.

A test helper (SYNTHETIC data): wraps any :class:`chains.emulators.server.EmulatorServer` subclass so
that JSON answers pass through `mangle(path, query, body) -> body` before they are sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chains.emulators.server import Reply, Request

Mangle = Callable[[str, dict[str, str], Any], Any]


def mangled(base: type) -> type:
    """A subclass of emulator class `base` taking `mangle=` and applying it to every JSON answer."""

    class Mangled(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, mangle: Mangle, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.mangle = mangle

        def handle(self, request: Request) -> Reply:
            reply = super().handle(request)
            try:
                body = json.loads(reply.body)
            except ValueError:
                return reply
            out = self.mangle(request.path, dict(request.query), body)
            return Reply(reply.status, json.dumps(out).encode(), reply.content_type, reply.headers)

    Mangled.__name__ = f"Mangled{base.__name__}"
    return Mangled
