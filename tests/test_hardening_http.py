"""Issue 15 (security, bounded input, rate limits): URL redaction, body cap, redirects, adaptive rate limits."""

from __future__ import annotations

import json
import logging

import pytest

from chains.emulators.server import EmulatorServer, Reply, Request
from chains.http import HttpClient, ResponseTooLarge, RetryPolicy, rate_limit_status
from chains.ratelimit import RateLimiterRegistry
from tracer.core.errors import RetriesExhausted, SourceRejected
from tracer.core.redact import describe_url, redact_text, redact_url

PATH_KEY = "aZ3kQ9pLmN2xV7"  # shorter than the old 16-character rule
LONG_KEY = "8f3b2c1d9e7a6f5b4c3d2e1f0a9b8c7d"


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        (f"https://eth-mainnet.example/v2/{PATH_KEY}", PATH_KEY),
        (f"https://mainnet.example/v3/{LONG_KEY}", LONG_KEY),
        (f"https://node.example/{LONG_KEY}/", LONG_KEY),
        ("http://alice:hunter2pw@node.example:8545/", "hunter2pw"),
        ("http://tokenonly42@node.example/", "tokenonly42"),
        ("https://api.example/v2/api?chainid=1&apikey=SEKRET123&module=account", "SEKRET123"),
        ("https://api.example/?key=SEKRET123", "SEKRET123"),
    ],
)
def test_redact_url_removes_every_form_of_key(url: str, secret: str) -> None:
    assert secret not in redact_url(url)
    assert secret not in redact_text(f"GET {url} failed: boom")
    described = describe_url(url)
    assert secret not in str(described)
    assert described["host"] and len(described["url_fingerprint"]) == 12


def test_redact_url_keeps_chain_identifiers_and_plain_paths() -> None:
    txid = "ab" * 32
    assert redact_url(f"https://blockstream.example/api/tx/{txid}") == f"https://blockstream.example/api/tx/{txid}"
    addr = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
    assert addr in redact_url(f"https://mempool.example/api/address/{addr}/txs")
    assert redact_url("https://api.etherscan.io/v2/api?chainid=1") == "https://api.etherscan.io/v2/api?chainid=1"


class Hostile(EmulatorServer):
    """Redirects, endless bodies and rate limits on demand."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.limited = 0

    def handle(self, request: Request) -> Reply:
        if request.path.startswith("/away"):
            return Reply.text("", status=302).with_header("Location", "http://127.0.0.2:9/steal")
        if request.path.startswith("/here"):
            return Reply.text("", status=302).with_header("Location", "/ok")
        if request.path.startswith("/big"):
            return Reply.json({"pad": "x" * 5000})
        if request.path.startswith("/limited") and self.limited > 0:
            self.limited -= 1
            return Reply.text("slow down", status=429).with_header("Retry-After", "1")
        return Reply.json({"ok": True})


@pytest.fixture
def hostile() -> Hostile:
    with Hostile() as server:
        yield server


def test_redirect_to_another_host_is_refused(hostile: Hostile) -> None:
    client = HttpClient(source="t", rate_per_s=None, secrets=[PATH_KEY], sleep=lambda s: None)
    with pytest.raises(SourceRejected, match="another host") as info:
        client.get_json(f"{hostile.base_url}/away/v2/{PATH_KEY}")
    assert PATH_KEY not in info.value.message
    assert client.get_json(f"{hostile.base_url}/here")["ok"] is True  # same host: followed


def test_body_over_cap_is_one_clear_error(hostile: Hostile) -> None:
    client = HttpClient(source="t", rate_per_s=None, max_body_bytes=1000, sleep=lambda s: None)
    with pytest.raises(ResponseTooLarge, match="over 1,000 bytes") as info:
        client.get_json(f"{hostile.base_url}/big")
    assert info.value.exit_code == 3
    assert hostile.requests == 1  # not retried


def test_key_in_url_path_never_in_logs_or_errors(hostile: Hostile, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = HttpClient(
        source="rpc", rate_per_s=None, retry=RetryPolicy(attempts=2, backoff_base=0), sleep=lambda s: None
    )
    hostile.limited = 5
    with pytest.raises(RetriesExhausted) as info:
        client.get_json(f"{hostile.base_url}/limited/v2/{PATH_KEY}")
    assert PATH_KEY not in info.value.message
    assert PATH_KEY not in caplog.text


def test_rate_limits_slow_down_and_keep_going(hostile: Hostile, monkeypatch: pytest.MonkeyPatch) -> None:
    """Far more rate-limit answers than `attempts`: with a long outage allowance the request still succeeds,
    Retry-After is honoured, and the shared rate is halved for every client of the key."""
    import chains.http as http

    registry = RateLimiterRegistry()
    monkeypatch.setattr(http, "LIMITERS", registry)
    waits: list[float] = []
    seen: list[str] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        seen.append(rate_limit_status())

    client = HttpClient(source="etherscan", rate_per_s=4.0, retry=RetryPolicy(attempts=3, max_outage=60), sleep=sleep)
    hostile.limited = 8
    assert client.get_json(f"{hostile.base_url}/limited")["ok"] is True
    assert hostile.requests == 9
    bucket = registry.existing(hostile.base_url.split("//")[1], "")
    assert bucket is not None and bucket.rate < 4.0 / 10  # halved per rate-limit answer (floor 0.05/s)
    assert sum(waits) >= 8  # Retry-After: 1, eight times
    assert "waiting on etherscan rate limit" in seen
    assert rate_limit_status() == ""


def test_long_outage_ends_the_run(hostile: Hostile) -> None:
    hostile.limited = 10_000
    client = HttpClient(source="t", rate_per_s=None, retry=RetryPolicy(attempts=3, max_outage=5), sleep=lambda s: None)
    with pytest.raises(RetriesExhausted, match=r"over [0-9]+ s"):
        client.get_json(f"{hostile.base_url}/limited")


def test_archived_url_and_manifest_never_hold_a_path_key(hostile: Hostile, tmp_path) -> None:
    """The raw-response archive (the store) and the manifest's source entry keep the host, never the key."""
    from tracer.sources.factory import Sources
    from tracer.store import Store

    url = f"http://user:pw{PATH_KEY}@{hostile.base_url.split('//')[1]}/v2/{PATH_KEY}"
    with Store.open(tmp_path / "s.db") as store:
        client = HttpClient(source="rpc", rate_per_s=None, archive=store, sleep=lambda s: None)
        client.get_json(url)
        urls = [r.url for r in store.list_responses()]
    assert urls and all(PATH_KEY not in u and "pw" not in u for u in urls)

    class Adapter:
        source = "rpc"

    adapter = Adapter()
    adapter.url = url  # type: ignore[attr-defined]
    history = type("H", (), {"adapters": {"ethereum": adapter}})()
    entry = Sources(account=history).describe()["ethereum"]
    assert PATH_KEY not in json.dumps(entry) and entry["host"].startswith("127.0.0.1")
