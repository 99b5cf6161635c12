"""A loopback server that answers with recorded explorer bodies, byte for byte (tests only).

A recording is a body file ``NNN-subject.json`` beside ``NNN-subject.meta.json`` (the request
as it was sent: host, path, query; see ../shared/data/raw/real-explorer-responses). The
server answers a request with the recording whose path matches and whose query values for
the identifying keys (:data:`MATCH_KEYS`: module, action, address, txhash, tag and the
block range, when the recording has them) equal the request's. Other parameters (page,
offset, sort, chainid, apikey) are ignored, so a real adapter can be pointed at it.

What has no recording: an account list (`txlist`, `txlistinternal`, `tokentx`) is answered
"No transactions found" when `empty_lists` is set (a test that records one list runs the
adapter's other two against nothing), a proxy call with a JSON-RPC ``null`` result, anything
else 404. A recording whose path is not a path (pasted error bodies: "(see thread)")
answers every request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chains.emulators.server import EmulatorServer, Reply, Request

MATCH_KEYS = ("module", "action", "address", "txhash", "tag", "startblock", "endblock")
_LISTS = frozenset({"txlist", "txlistinternal", "tokentx"})


@dataclass(frozen=True, slots=True, eq=False)
class Recording:
    """One recorded answer and the request that produced it."""

    body_file: Path
    meta: dict[str, Any]

    @property
    def path(self) -> str:
        return str(self.meta["request"]["path"])

    @property
    def query(self) -> dict[str, str]:
        return {k: str(v) for k, v in (self.meta["request"].get("query") or {}).items()}

    @property
    def body(self) -> bytes:
        return self.body_file.read_bytes()

    @property
    def catch_all(self) -> bool:
        return not self.path.startswith("/")


def load_recordings(folder: Path) -> list[Recording]:
    """Every body in `folder` (and its sub-folders) that has a `.meta.json` beside it, in name order."""
    out = []
    for meta_file in sorted(folder.rglob("*.meta.json")):
        body_file = meta_file.with_name(meta_file.name.removesuffix(".meta.json") + ".json")
        if body_file.is_file():
            out.append(Recording(body_file, json.loads(meta_file.read_text())))
    return out


def _norm(key: str, value: str) -> str:
    return value.lower() if key in ("address", "txhash") else value


class ReplayServer(EmulatorServer):
    """Serves `recordings` on 127.0.0.1 (see the module docstring)."""

    def __init__(self, recordings: list[Recording], *, empty_lists: bool = False) -> None:
        super().__init__()
        self.recordings = list(recordings)
        self.empty_lists = empty_lists
        self.served: list[Recording | None] = []

    def url_for(self, recording: Recording) -> str:
        """The base URL an adapter takes to reach `recording` (Esplora: up to `/api`)."""
        if recording.catch_all:
            return self.base_url + "/v2/api"
        path = recording.path
        if recording.meta.get("family") == "esplora":
            return self.base_url + path[: path.index("/tx/")] if "/tx/" in path else self.base_url
        return self.base_url + path

    def _matches(self, recording: Recording, request: Request) -> bool:
        if recording.catch_all:
            return True
        if recording.path != request.path:
            return False
        recorded = recording.query
        for key in MATCH_KEYS:
            if key not in recorded and (key in ("startblock", "endblock") or key not in request.query):
                continue  # recorded without a range: the whole list
            if _norm(key, recorded.get(key, "")) != _norm(key, request.query.get(key, "")):
                return False
        return True

    def handle(self, request: Request) -> Reply:
        for recording in self.recordings:
            if self._matches(recording, request):
                self.served.append(recording)
                return Reply(200, recording.body, str(recording.meta["response"].get("content_type") or "text/plain"))
        self.served.append(None)
        if request.query.get("module") == "proxy":
            return Reply.json({"jsonrpc": "2.0", "id": 1, "result": None})
        if self.empty_lists and request.query.get("action") in _LISTS:
            return Reply.json({"status": "0", "message": "No transactions found", "result": []})
        return Reply.text("no recording for this request", status=404)
