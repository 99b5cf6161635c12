"""`heisttrace watch`: an EtherscanEmulator world (SYNTHETIC, fictional) gains transactions after a trace."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.world import WorldTx
from tests.cli_env import make_env
from tests.test_engine_cli import ETH, HOP1, HOP2, THIEF, a, h, setup_case, synthetic_world
from tracer.cli import main

NEW_A, NEW_B = a(0xE1), a(0xE2)


class _Hook(BaseHTTPRequestHandler):
    failures_left = 2
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(500)
        else:
            type(self).received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook():
    _Hook.failures_left, _Hook.received = 2, []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook
    server.shutdown()


def test_watch_reports_each_new_outflow_once_and_the_webhook_gets_them_all(tmp_path: Path, webhook) -> None:
    url, hook = webhook
    world = synthetic_world()
    with EtherscanEmulator(world) as emulator:
        home, case = setup_case(tmp_path, emulator.api_url)
        env, out, err = make_env(home)
        bundle = tmp_path / "b"
        assert main(["trace", str(case), "--out", str(bundle), "--json"], env=env) == 0, err.getvalue()
        summary = json.loads((bundle / "summary.json").read_text())
        hop1 = next(r for r in summary["assets"].values() if r["symbol"] == "ETH")
        assert hop1["unmoved"] != "0"
        # after the trace: the thief and a dormant hop move funds; an unrelated address moves too
        world.add(
            [
                WorldTx(h(50), 140, 0, 1_700_002_000, THIEF, NEW_A, 1 * ETH),
                WorldTx(h(51), 141, 0, 1_700_002_012, HOP1, NEW_B, 5 * ETH),
                WorldTx(h(52), 142, 0, 1_700_002_024, a(0x77), NEW_B, 3 * ETH),
            ]
        )
        env, out, err = make_env(home)
        assert main(["watch", str(bundle), "--once", "--webhook", url], env=env) == 0, err.getvalue()
        alerts = [json.loads(line) for line in out.getvalue().splitlines()]
        by_tx = {x["tx_hash"]: x for x in alerts}
        assert set(by_tx) == {h(50), h(51)}, alerts
        assert by_tx[h(50)]["address"] == THIEF and by_tx[h(50)]["amount"] == "1"
        assert by_tx[h(50)]["stolen_amount"] == "1"  # everything the thief holds is stolen
        # HOP1 got 2 clean + 50 stolen ETH and paid 40 on: under haircut every ETH it holds is 50/52 stolen
        expected = 5 * ETH * 50 // 52
        assert by_tx[h(51)]["amount"] == "5" and by_tx[h(51)]["stolen_amount"] == f"4.{expected - 4 * ETH}"
        assert {x["tx_hash"] for x in hook.received} == {h(50), h(51)}  # two failed deliveries were retried
        env, out, err = make_env(home)
        assert main(["watch", str(bundle), "--once", "--webhook", url], env=env) == 0, err.getvalue()
        assert out.getvalue() == ""  # nothing new
        assert len(hook.received) == 2


def test_a_failing_webhook_keeps_alerts_queued_until_it_accepts(tmp_path: Path, webhook) -> None:
    url, hook = webhook
    world = synthetic_world()
    with EtherscanEmulator(world) as emulator:
        home, case = setup_case(tmp_path, emulator.api_url)
        env, _, err = make_env(home)
        bundle = tmp_path / "b"
        assert main(["trace", str(case), "--out", str(bundle), "--json"], env=env) == 0, err.getvalue()
        world.add([WorldTx(h(60), 150, 0, 1_700_003_000, HOP2, NEW_A, 1 * ETH)])
        hook.failures_left = 5  # more than one round's retries
        env, out, _ = make_env(home)
        assert main(["watch", str(bundle), "--once", "--webhook", url], env=env) == 0
        assert len(out.getvalue().splitlines()) == 1 and hook.received == []
        env, out, _ = make_env(home)
        assert main(["watch", str(bundle), "--once", "--webhook", url], env=env) == 0
        assert out.getvalue() == ""  # not reported again on stdout ...
        assert [x["tx_hash"] for x in hook.received] == [h(60)]  # ... but delivered from the queue


def test_watch_refuses_a_directory_that_is_not_a_bundle(tmp_path: Path) -> None:
    env, _, err = make_env(tmp_path / "home")
    assert main(["watch", str(tmp_path), "--once"], env=env) == 2
    assert "is not a bundle" in err.getvalue() and "Traceback" not in err.getvalue()
