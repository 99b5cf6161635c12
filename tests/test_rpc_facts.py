"""The RPC adapter's crossing lookups (transaction facts, logs by topic) against a real anvil node (synthetic)."""

from __future__ import annotations

import pytest

from chains.evm_decode import TRANSFER_TOPIC, pad_topic
from chains.rpc import RpcAdapter
from tests.anvil import Scenario
from tracer.core.networks import get_chain

pytestmark = pytest.mark.anvil
ETH = get_chain("ethereum")


def test_tx_facts_and_logs_from_a_node(anvil_scenario: Scenario) -> None:
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=ETH)
    token, thief = anvil_scenario.contracts["token"], anvil_scenario.accounts["thief"]
    tx = anvil_scenario.txs["steal-token"]
    facts = adapter.fetch_tx_facts(ETH, tx)
    assert facts.success and facts.to == token and facts.input.startswith("0xa9059cbb")
    (log,) = [lg for lg in facts.logs if lg.topics[0] == TRANSFER_TOPIC]
    assert log.address == token and log.topics[2] == pad_topic(thief)
    found = adapter.fetch_logs(ETH, token, {0: TRANSFER_TOPIC, 2: pad_topic(thief)})
    assert tx in {h for h, _, _ in found} and all(t > 0 for _, t, _ in found)
    assert all(lg.topics[2] == pad_topic(thief) for _, _, lg in found)
