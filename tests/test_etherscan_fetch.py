"""`heisttrace fetch` end to end: Etherscan emulator on 127.0.0.1 -> adapter -> store -> table / JSON.

The world is the **synthetic** scenario of tests/test_etherscan.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from chains.emulators.etherscan import EtherscanEmulator
from tests.test_etherscan import HOP1, KEY, THIEF, h, scenario
from tracer.cli import main
from tracer.commands.fetch import format_units, parse_block_or_time
from tracer.core.errors import BadInput
from tracer.environment import Environment


@pytest.fixture
def server() -> Iterator[EtherscanEmulator]:
    with EtherscanEmulator(scenario(), api_keys={KEY}) as emulator:
        yield emulator


class Run:
    def __init__(self, home: Path, key: str | None = KEY) -> None:
        self.home = home
        self.key = key

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        environ = {"ETHERSCAN_API_KEY": self.key} if self.key else {}
        env = Environment(
            stdout=Console(file=out, width=220), stderr=Console(file=err, width=220), home=self.home, environ=environ
        )
        code = main(list(argv), env)
        return code, out.getvalue(), err.getvalue()


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path / "home")


def test_first_run_fetches_second_run_reads_the_store(server: EtherscanEmulator, run: Run) -> None:
    code, out, err = run("fetch", "ethereum", THIEF, "--api-url", server.api_url)
    assert code == 0, err
    first_requests = server.requests
    assert first_requests == 5  # tip + txlist + txlistinternal + tokentx + one tx-index lookup
    assert "12 transfers of " + THIEF in out and "requests to etherscan" in out
    assert "reverted" in out and "spoofed" in out and "dust" in out and "(gas fee)" in out
    assert KEY not in out + err
    code, again, err = run("fetch", "ethereum", THIEF, "--api-url", server.api_url)
    assert code == 0, err
    assert server.requests == first_requests  # zero requests: the pinned tip and the history are stored
    assert "from the store" in again
    code, offline, _ = run("fetch", "ethereum", THIEF, "--offline", "--limit", "3")
    assert code == 0 and "12 transfers" in offline and server.requests == first_requests
    assert "showing 3 of 12" in offline and offline.count("this address") == 3


def test_json_output_and_iso_since(server: EtherscanEmulator, run: Run) -> None:
    code, out, err = run(
        "fetch", "ethereum", THIEF, "--api-url", server.api_url, "--since", "2023-11-14T22:13:40Z", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["start_block"] == 102 and doc["end_block"] == 108 and doc["complete"]
    assert {t["block"] for t in doc["transfers"]} >= {102, 103, 108} and min(
        t["block"] for t in doc["transfers"]
    ) == 102
    token = next(t for t in doc["transfers"] if t["kind"] == "token" and t["to"] == HOP1)
    assert token["amount"] == "5000000000" and token["amount_decimal"] == "5000" and token["asset"]["symbol"] == "USDT"
    assert token["explorer_url"] == f"https://etherscan.io/tx/{h(4)}"
    assert any(t["noise"] == ["spoofed", "zero-value"] for t in doc["transfers"])
    served = server.requests
    code, out, _ = run("fetch", "ethereum", THIEF, "--since", "2023-11-14T22:13:40Z", "--json", "--offline")
    assert code == 0 and json.loads(out)["transfers"] == doc["transfers"] and server.requests == served


def test_until_and_refresh(server: EtherscanEmulator, run: Run) -> None:
    code, out, _ = run("fetch", "ethereum", THIEF, "--api-url", server.api_url, "--until", "103", "--json")
    assert code == 0 and max(t["block"] for t in json.loads(out)["transfers"]) == 103
    code, out, _ = run("fetch", "ethereum", THIEF, "--api-url", server.api_url, "--refresh", "--json")
    assert code == 0 and json.loads(out)["end_block"] == 108


def test_offline_without_data_is_a_clear_gap(run: Run) -> None:
    code, _, err = run("fetch", "ethereum", THIEF, "--offline")
    assert code == 4 and "store holds no ethereum history of" in err and "without --offline" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["fetch", "ethereum", "0x123"], "not an EVM address"),
        (["fetch", "dogecoin", THIEF], "unknown chain"),
        (["fetch", "bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"], "EVM chains"),
        (["fetch", "ethereum", THIEF, "--since", "yesterday"], "--since: expected a block number or an ISO"),
        (["fetch", "ethereum", THIEF, "--api-url", "ftp://x"], "--api-url"),
        (["fetch", "ethereum", THIEF, "--since", "9", "--until", "3", "--offline"], "is after --until"),
    ],
)
def test_bad_input_is_one_line_exit_2(run: Run, argv: list[str], expected: str) -> None:
    code, _, err = run(*argv)
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1


def test_wrong_key_is_exit_3_without_the_key(server: EtherscanEmulator, tmp_path: Path) -> None:
    code, out, err = Run(tmp_path / "h", key="NOT-THE-KEY-42")("fetch", "ethereum", THIEF, "--api-url", server.api_url)
    assert code == 3 and "Invalid API Key" in err and "NOT-THE-KEY-42" not in out + err


def test_helpers() -> None:
    assert format_units(1_500_000, 6) == "1.5" and format_units(10**18, 18) == "1" and format_units(7, 0) == "7"
    assert format_units(1, 18) == "0.000000000000000001"
    assert parse_block_or_time("123", option="--since") == 123
    assert parse_block_or_time("2024-01-01", option="--since").timestamp() == 1704067200  # type: ignore[union-attr]
    with pytest.raises(BadInput):
        parse_block_or_time("2024-13-01", option="--since")
