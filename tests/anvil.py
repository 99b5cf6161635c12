"""Pytest fixtures: a real anvil node (from the pinned npm package) and a scenario played on it.

The scenario is synthetic: peel chain, ETH fan-out by internal calls (also nested), an
ERC-20 token, a spoofing token emitting fake `Transfer` events, a reverted transaction,
contract creations (external and internal) and a self-destruct. Transactions are sent from
anvil's unlocked dev accounts through `eth_sendTransaction`, so no private key appears here.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
ANVIL = ROOT / "tools" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
BUILD = Path(__file__).resolve().parent / "contracts" / "build"
ANVIL_CHAIN_ID = 1  # the scenario poses as Ethereum mainnet so adapters accept it for `ethereum`
ETHER = 10**18
GWEI = 10**9


@dataclass
class AnvilNode:
    """A running anvil process and its JSON-RPC URL."""

    process: subprocess.Popen[bytes]
    url: str
    chain_id: int

    def rpc(self, method: str, params: list | None = None) -> object:
        """One JSON-RPC call; raises RuntimeError with the node's message on an error answer."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        answer = requests.post(self.url, json=body, timeout=30).json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error'].get('message')}")
        return answer["result"]


def start_anvil(*, chain_id: int = ANVIL_CHAIN_ID, accounts: int = 20, extra: tuple[str, ...] = ()) -> AnvilNode:
    """Start a silent anvil on a free 127.0.0.1 port and wait until it answers.

    Its output (which lists the dev keys) goes nowhere; a port taken between probing and
    binding is retried with another port.
    """
    if not ANVIL.exists():
        pytest.skip(f"anvil binary missing at {ANVIL.relative_to(ROOT)} (run `make tools`)")
    for _attempt in range(3):
        port = _free_port()
        process = subprocess.Popen(
            [
                *(str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id)),
                *("--accounts", str(accounts), "--timestamp", "1700000000", "--silent", *extra),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        node = AnvilNode(process, f"http://127.0.0.1:{port}", chain_id)
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            try:
                node.rpc("eth_chainId")
                return node
            except requests.RequestException:
                time.sleep(0.05)
        stop_anvil(node)
    raise RuntimeError("anvil did not start on 127.0.0.1 within 20 s (three ports tried)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_anvil(node: AnvilNode) -> None:
    node.process.terminate()
    try:
        node.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        node.process.kill()
        node.process.wait()


def read_artifact(name: str) -> dict:
    """ABI and creation bytecode compiled by tools/compile_contracts.py."""
    return json.loads((BUILD / f"{name}.json").read_text())


@dataclass
class Scenario:
    """What was played on the node: named addresses, token contracts and notable tx hashes."""

    node: AnvilNode
    accounts: dict[str, str]  # role -> lowercase address
    contracts: dict[str, str]  # name -> lowercase address
    txs: dict[str, str] = field(default_factory=dict)  # step name -> tx hash
    start_block: int = 0
    end_block: int = 0

    @property
    def addresses(self) -> dict[str, str]:
        return {**self.accounts, **self.contracts}


_ROLES = (
    "deployer",
    "thief",
    "hop1",
    "hop2",
    "hop3",
    "hop4",
    "shop1",
    "shop2",
    "shop3",
    "stranger",
    "fan1",
    "fan2",
    "fan3",
    "fan4",
    "victim",
    "lookalike",
    "heir",
)


def play_scenario(node: AnvilNode) -> Scenario:
    """Play the synthetic heist on `node` as real transactions, one block each."""
    from web3 import HTTPProvider, Web3

    w3 = Web3(HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    dev = [a.lower() for a in w3.eth.accounts]
    accounts = dict(zip(_ROLES, dev, strict=False))
    cs = Web3.to_checksum_address
    scenario = Scenario(node, accounts, {}, start_block=w3.eth.block_number + 1)

    def send(step: str, tx: dict) -> dict:
        tx = {"gas": 3_000_000, **tx}
        tx["from"] = cs(tx["from"])
        tx_hash = w3.eth.send_transaction(tx)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        scenario.txs[step] = tx_hash.to_0x_hex()
        return receipt

    def deploy(step: str, name: str, sender: str, *args: object, value: int = 0) -> str:
        art = read_artifact(name)
        factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        data = factory.constructor(*args).build_transaction({"from": cs(sender), "gas": 3_000_000})["data"]
        receipt = send(step, {"from": sender, "data": data, "value": value})
        return receipt["contractAddress"].lower()

    def contract(name: str, address: str):
        return w3.eth.contract(address=cs(address), abi=read_artifact(name)["abi"])

    def call(step: str, name: str, address: str, fn: str, *args: object, sender: str, value: int = 0, **kw) -> dict:
        data = contract(name, address).encode_abi(fn, args=list(args))
        return send(step, {"from": sender, "to": cs(address), "data": data, "value": value, **kw})

    a = accounts
    token = deploy("deploy-token", "TestToken", a["deployer"], "Test Token", "TST", 6, 10**15)
    spoof = deploy("deploy-spoof", "SpoofToken", a["lookalike"])
    fan = deploy("deploy-fanout", "FanOut", a["deployer"])
    fan2 = deploy("deploy-fanout2", "FanOut", a["deployer"])
    scenario.contracts.update(token=token, spoof=spoof, fanout=fan, fanout2=fan2)

    # The heist: the victim loses ETH and tokens to the thief.
    send("steal-eth", {"from": a["victim"], "to": cs(a["thief"]), "value": 100 * ETHER})
    call("fund-victim-token", "TestToken", token, "transfer", cs(a["victim"]), 10**12, sender=a["deployer"])
    call("steal-token", "TestToken", token, "transfer", cs(a["thief"]), 6 * 10**11, sender=a["victim"])

    # Peel chain: each hop keeps the big part and pays a small amount out.
    hops = ["thief", "hop1", "hop2", "hop3", "hop4"]
    shops = ["shop1", "shop2", "shop3", "shop1"]
    big = 90 * ETHER
    for i, (src, dst) in enumerate(itertools.pairwise(hops)):
        send(f"peel-{i}", {"from": a[src], "to": cs(a[dst]), "value": big})
        send(f"peel-pay-{i}", {"from": a[dst], "to": cs(a[shops[i]]), "value": (i + 1) * ETHER // 10})
        big -= 10 * ETHER
    send("dust", {"from": a["stranger"], "to": cs(a["hop2"]), "value": 1_000})

    # Fan-out by internal calls, and a nested relay through a second contract.
    fans = [cs(a[f"fan{i}"]) for i in range(1, 5)]
    amounts = [ETHER, 2 * ETHER, 3 * ETHER, 4 * ETHER]
    call("fan-out", "FanOut", fan, "fanOut", fans, amounts, sender=a["thief"], value=sum(amounts))
    call("relay", "FanOut", fan, "relay", cs(fan2), cs(a["shop2"]), sender=a["hop3"], value=2 * ETHER)

    # Tokens: real moves, a zero-value transfer, and spoofed events copying the real token's symbol.
    call("token-peel", "TestToken", token, "transfer", cs(a["hop1"]), 4 * 10**11, sender=a["thief"])
    call("token-peel-2", "TestToken", token, "transfer", cs(a["hop2"]), 3 * 10**11, sender=a["hop1"])
    call("token-zero", "TestToken", token, "transfer", cs(a["shop1"]), 0, sender=a["thief"])
    call(
        "spoof",
        "SpoofToken",
        spoof,
        "spoof",
        cs(a["thief"]),
        [cs(a["lookalike"]), cs(a["hop2"])],
        0,
        sender=a["lookalike"],
    )
    call(
        "spoof-amount",
        "SpoofToken",
        spoof,
        "spoof",
        cs(a["hop1"]),
        [cs(a["lookalike"])],
        3 * 10**11,
        sender=a["lookalike"],
    )

    # A reverted transaction: pays gas, moves no value (its inner payment is undone too).
    call("reverted", "FanOut", fan, "failing", cs(a["shop3"]), sender=a["hop2"], value=ETHER, gas=200_000)

    # Contract creations: a vault created with value, one spawned by a contract, and a self-destruct.
    vault = deploy("create-vault", "Vault", a["hop4"], cs(a["hop4"]), value=3 * ETHER)
    receipt = call("spawn", "FanOut", fan, "spawn", cs(a["hop2"]), sender=a["hop2"], value=ETHER)
    spawned = "0x" + receipt["logs"][0]["data"].hex()[-40:]
    call("destroy", "Vault", vault, "destroy", cs(a["heir"]), sender=a["hop4"])
    scenario.contracts.update(vault=vault, spawned=spawned)
    scenario.end_block = w3.eth.block_number
    return scenario


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    """A fresh anvil node for the test session (skips when the binary is missing)."""
    node = start_anvil()
    try:
        yield node
    finally:
        stop_anvil(node)


@pytest.fixture(scope="session")
def anvil_scenario(anvil_node: AnvilNode) -> Scenario:
    """The synthetic heist scenario played on the session's anvil node."""
    return play_scenario(anvil_node)


def trace_on_node(node: AnvilNode, tmp_path: Path, *, thief: str, since: int, title: str) -> tuple[dict, Path]:
    """`heisttrace trace CASE --source rpc --rpc-url URL --json` from `thief` (haircut, at most 50 addresses):
    the printed summary and the bundle directory; fails the test on a non-zero exit."""
    case = tmp_path / "case.toml"
    case.write_text(
        f'[case]\nid = "anvil"\ntitle = "{title}"\n[[seeds]]\nchain = "ethereum"\naddress = "{thief}"\n'
        f'[trace]\nsince = {since}\npolicy = "haircut"\nmax_hops = 10\nmax_addresses = 50\n'
    )
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tracer", "trace", str(case), "--out", str(out), "--json"]
    done = subprocess.run(
        [*command, "--source", "rpc", "--rpc-url", node.url],
        capture_output=True,
        text=True,
        env={**os.environ, "HEISTTRACE_HOME": str(tmp_path / "home")},
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), out
