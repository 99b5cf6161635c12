"""`heisttrace fetch tron ADDRESS` end to end: TronGrid emulator on 127.0.0.1 -> adapter -> store -> table / JSON.

The world is the small **synthetic** TRON world of tests/test_tron_adapter.py.
"""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from chains.emulators.trongrid import TronGridEmulator, block_time_ms, to_hex
from tests.test_tron_adapter import THIEF, USDT, world
from tracer.cli import main
from tracer.environment import Environment

KEY = "tron-synthetic-key-7f3a"


def run(home: Path, *argv: str, key: str | None = KEY) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdout=Console(file=out, width=220),
        stderr=Console(file=err, width=220),
        home=home,
        environ={"TRONGRID_API_KEY": key} if key else {},
    )
    return main(list(argv), env), out.getvalue(), err.getvalue()


def test_first_run_fetches_second_run_reads_the_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with TronGridEmulator(world(), api_keys={KEY}) as server:
        code, out, err = run(home, "fetch", "tron", THIEF, "--api-url", server.base_url)
        assert code == 0, err
        first = server.requests
        assert 0 < first <= 6  # tip + block time + two lists (+ at most the info the block clock cannot place)
        assert f"transfers of {THIEF} on tron" in out and "requests to trongrid" in out
        assert "(gas fee)" in out and "USDT" in out and "zero-value" in out
        code, again, err = run(home, "fetch", "tron", THIEF, "--api-url", server.base_url)
        assert code == 0, err
        assert server.requests == first and "from the store" in again
        # the hex form names the same address, and the store answers it too
        code, _, err = run(home, "fetch", "tron", to_hex(THIEF), "--api-url", server.base_url, "--json")
        assert code == 0, err and server.requests == first
        assert server.keys_seen and set(server.keys_seen) == {KEY}  # the key rides in its header only
        assert KEY not in repr(server.request_log)  # never in a path or a query
    text = out + again + err
    assert KEY not in text
    db = home / "store.sqlite3"
    assert KEY.encode() not in db.read_bytes()
    with sqlite3.connect(db) as conn:
        for (name,) in conn.execute("select name from sqlite_master where type='table'").fetchall():
            assert KEY not in repr(conn.execute(f"select * from {name}").fetchall())


def test_json_iso_since_and_tokens(tmp_path: Path) -> None:
    since = datetime.fromtimestamp(block_time_ms(102) // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with TronGridEmulator(world(), api_keys={KEY}) as server:
        code, out, err = run(tmp_path / "h", "fetch", "tron", THIEF, "--api-url", server.base_url, "--json",
                             "--since", since)  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["chain"] == "tron" and doc["start_block"] == 102 and doc["end_block"] == 105
    assert {t["block"] for t in doc["transfers"]} <= set(range(102, 106))
    assert all(t["explorer_url"].startswith("https://tronscan.org/") for t in doc["transfers"])
    fake = [t for t in doc["transfers"] if t["asset"]["contract"] not in (None, USDT.contract)]
    assert fake and all(t["noise"] for t in fake)  # the look-alike USDT is flagged, never hidden


def test_missing_or_wrong_key_and_bad_input_are_one_line(tmp_path: Path) -> None:
    with TronGridEmulator(world(), api_keys={KEY}) as server:
        code, _, err = run(tmp_path / "a", "fetch", "tron", THIEF, "--api-url", server.base_url, key=None)
        assert code == 3 and "403" in err and "TRONGRID_API_KEY" in err and len(err.strip().splitlines()) == 1
        code, out, err = run(tmp_path / "b", "fetch", "tron", THIEF, "--api-url", server.base_url, key="WRONG-KEY-99")
        assert code == 3 and "ApiKey not exists" in err and "WRONG-KEY-99" not in out + err
    for argv, expected in (
        (["fetch", "tron", "TNotAnAddress"], "not a TRON address"),
        (["fetch", "tron", THIEF, "--api-url", "ftp://x"], "--api-url"),
        (["fetch", "bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"], "tron"),
    ):
        code, _, err = run(tmp_path / "c", *argv)
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_progress_reports_rows_and_requests(tmp_path: Path) -> None:
    from tests.cli_env import make_env
    from tracer.commands.fetch import read_address_history

    lines: list[str] = []
    env, _, _ = make_env(tmp_path / "home")
    with TronGridEmulator(world()) as server:
        history = read_address_history("tron", THIEF, env=env, api_url=server.base_url, progress=lines.append)
    assert history.transfers and lines and all("rows read in" in line for line in lines)
    counts = [int(line.split()[0]) for line in lines]
    assert counts == sorted(counts) and counts[-1] >= 6  # the thief's list rows (TRX and TRC-20) were counted
