"""A 300 ETH theft on a real anvil node: `stolen` is the theft exactly, gas top-ups are thief funds apart.

The scenario is SYNTHETIC, played with real transactions from fresh impersonated addresses (no keys):
the thief's gas station fuels the thief before the theft and the thief's fresh hops around it, the
victim loses 300 ETH, and the thief spreads it over three hops that pay shops.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.anvil import ETHER, AnvilNode, trace_on_node

pytestmark = pytest.mark.anvil

FINNEY = ETHER // 1000
TOP_UP = FINNEY  # 0.001 ETH of gas per top-up


def _fresh(n: int) -> str:
    return "0x" + f"{0x7E57_3000_0000 + n:040x}"


def play_300(node: AnvilNode) -> tuple[dict[str, str], int]:
    """Play the scenario; the addresses by role and the block the trace starts at."""
    from web3 import HTTPProvider, Web3

    w3 = Web3(HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    cs = Web3.to_checksum_address
    names = ("victim", "thief", "station", "hop1", "hop2", "hop3", "shop1", "shop2", "shop3")
    a = {name: _fresh(i) for i, name in enumerate(names)}
    dev = w3.eth.accounts[0]  # an unlocked dev account (before impersonation adds the fresh ones)
    for address in a.values():
        node.rpc("anvil_impersonateAccount", [cs(address)])

    def send(sender: str, to: str, value: int) -> None:
        tx = w3.eth.send_transaction({"from": cs(sender), "to": cs(to), "value": value, "gas": 21_000})
        w3.eth.wait_for_transaction_receipt(tx, timeout=30)

    send(dev, a["victim"], 400 * ETHER)
    send(dev, a["station"], ETHER)
    send(a["station"], a["thief"], 20 * TOP_UP)  # the thief's own gas, before the theft
    since = w3.eth.block_number + 1
    send(a["victim"], a["thief"], 300 * ETHER)  # the theft
    send(a["station"], a["hop1"], TOP_UP)  # gas before the thief's payment
    for hop in ("hop1", "hop2", "hop3"):
        send(a["thief"], a[hop], 99 * ETHER)
    send(a["station"], a["hop2"], TOP_UP)  # gas after it: thief funds
    send(a["station"], a["hop3"], TOP_UP)
    send(a["hop1"], a["shop1"], 60 * ETHER)
    send(a["hop1"], a["shop2"], 39 * ETHER)
    send(a["hop2"], a["shop3"], 99 * ETHER)
    return a, since


def test_a_300_eth_theft_reports_300_eth_stolen_exactly(anvil_node: AnvilNode, tmp_path: Path) -> None:
    a, since = play_300(anvil_node)
    printed, out = trace_on_node(anvil_node, tmp_path, thief=a["thief"], since=since, title="SYNTHETIC 300 ETH theft")
    native = printed["assets"]["ethereum:native"]
    assert Decimal(native["stolen"]) == 300
    parts = ("endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out")
    assert sum(Decimal(native[k]) for k in parts) == Decimal(native["stolen"]) + Decimal(native["swapped_in"])
    summary = json.loads((out / "summary.json").read_text())
    funds = summary["assets"]["ethereum:native"]["thief_funds"]
    # apart from stolen: the hops' later top-ups, and the thief's own pre-theft gas as haircut carries it on
    assert 2 * TOP_UP <= Decimal(funds["gained"]) * ETHER <= 23 * TOP_UP
    tf_parts = ("endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out")
    assert sum(Decimal(funds[k]) for k in tf_parts) == Decimal(funds["gained"]) + Decimal(funds["swapped_in"])
    rows = {r["address"]: r for r in csv.DictReader((out / "addresses.csv").open())}
    hop1, hop2, hop3 = (rows[a[h]] for h in ("hop1", "hop2", "hop3"))
    assert hop1["label_source"] == "heuristic:first-funder" and Decimal(hop1["thief_funds_in"]) == 0  # gas before
    assert Decimal(hop2["thief_funds_in"]) * ETHER == Decimal(hop3["thief_funds_in"]) * ETHER == TOP_UP  # after
