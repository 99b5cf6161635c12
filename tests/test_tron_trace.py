"""A synthetic USDT-TRC20 laundering world (labelled synthetic) traced end to end through the TronGrid emulator."""

from __future__ import annotations

from decimal import Decimal

from chains.emulators.trongrid import Trc20Move, TronGridEmulator, TronToken, TronTx, TronWorld
from tests.test_tron_adapter import FAKE, USDT, addr, txid
from tracer import trace
from tracer.core.models import Category, Label
from tracer.store import Store

VICTIM, THIEF, SPLIT_A, SPLIT_B, PEEL, DEPOSIT, HOT, CROWD = (addr(n) for n in range(200, 208))
USD = 10**6


class Labels:
    """The exchange's hot wallet is labelled (synthetic)."""

    def label(self, chain: str, address: str) -> Label | None:
        if address == HOT:
            return Label(chain, HOT, Category.EXCHANGE, "Synthetic Exchange hot wallet", source="test-synthetic")
        return None


def usdt(tx: int, block: int, sender: str, to: str, value: int, token: TronToken = USDT) -> TronTx:
    move = Trc20Move(token, sender, to, value)
    return TronTx(txid(tx), block, sender, contract=token.contract, fee=13_000_000, trc20=(move,))


def laundering_world() -> TronWorld:
    """SYNTHETIC: a victim's 1,000,000 USDT to the thief, a split, a peel, an exchange deposit swept to a hot wallet."""
    w = TronWorld()
    w.add(
        TronTx(txid(500), 90, CROWD, to=THIEF, amount=50 * USD),  # TRX for fees (the thief's own, before the theft)
        TronTx(txid(501), 90, CROWD, to=SPLIT_A, amount=50 * USD),
        TronTx(txid(502), 90, CROWD, to=SPLIT_B, amount=50 * USD),
        TronTx(txid(503), 90, CROWD, to=PEEL, amount=50 * USD),
        TronTx(txid(504), 90, CROWD, to=DEPOSIT, amount=50 * USD),
        usdt(510, 100, VICTIM, THIEF, 1_000_000 * USD),  # the theft
        usdt(511, 101, THIEF, SPLIT_A, 600_000 * USD),
        usdt(512, 101, THIEF, SPLIT_B, 400_000 * USD),
        usdt(513, 102, SPLIT_A, PEEL, 600_000 * USD),
        usdt(514, 103, PEEL, DEPOSIT, 250_000 * USD),
        usdt(515, 104, DEPOSIT, HOT, 250_000 * USD),  # the exchange sweeps its deposit address
        usdt(516, 104, CROWD, SPLIT_B, 0),  # zero-value poisoning transfer
        TronTx(txid(517), 105, FAKE.contract, contract=FAKE.contract, trc20=(Trc20Move(FAKE, CROWD, THIEF, 5 * USD),)),
    )
    return w


def write_case(path, url: str) -> None:
    path.write_text(
        f"""[case]
id = "synthetic-tron-usdt"
title = "SYNTHETIC TRON USDT laundering (not a real case)"

[[seeds]]
chain = "tron"
address = "{THIEF}"

[trace]
since = 95

[source]
tron = {{ kind = "tron", url = "{url}" }}
"""
    )


def test_usdt_laundering_on_tron_is_traced_to_the_exchange(tmp_path) -> None:
    with TronGridEmulator(laundering_world()) as server, Store.open(tmp_path / "store.db") as store:
        case = tmp_path / "case.toml"
        write_case(case, server.base_url)
        result = trace(case, store=store, labels=Labels())
        first_requests = server.requests
        again = trace(case, store=store, labels=Labels())
        assert server.requests == first_requests  # a re-run reads the store only
    usdt_key = f"tron:{USDT.contract}"
    sheet = result.summary["assets"][usdt_key]
    assert Decimal(sheet["stolen"]) == 1_000_000
    closing = sum(Decimal(sheet[k]) for k in ("endpoints", "unmoved", "fees", "below_threshold", "unexplored"))
    assert closing + Decimal(sheet["swapped_out"]) == Decimal(sheet["stolen"]) + Decimal(sheet["swapped_in"])
    assert f"tron:{FAKE.contract}" not in result.summary["assets"]  # the look-alike token is never tainted
    endpoints = {row["address"]: row for row in result.endpoints.iter_rows(named=True)}
    assert DEPOSIT in endpoints and Decimal(endpoints[DEPOSIT]["tainted_amount"]) == 250_000
    assert Decimal(sheet["unmoved"]) == 750_000  # 400,000 at SPLIT_B, 350,000 at PEEL
    assert again.summary["assets"] == result.summary["assets"]
