"""A SYNTHETIC multi-chain world (fictional addresses and amounts): an ETH thief swaps ETH into BTC through
THORChain and bridges USDC to Arbitrum through LI.FI, then on to Optimism through Across; on every destination the
money reaches an exchange.

Served by independent emulators on 127.0.0.1: Etherscan (chain ids 1 and 42161), Esplora (Bitcoin),
Midgard and LI.FI.
"""

from __future__ import annotations

from eth_abi import encode

from chains.crosschain.across import SPOKE_POOLS
from chains.crosschain.evm_inbound import (
    DEPOSIT_TOPIC,
    DEPOSIT_WITH_EXPIRY,
    LIFI_BRIDGE_DATA,
    LIFI_DIAMOND,
    LIFI_STARTED_TOPIC,
)
from chains.crosschain.messaging import LOG_MESSAGE_PUBLISHED, OFT_RECEIVED, OFT_SENT
from chains.crosschain.thorchain_memo import inbound_id
from chains.emulators.esplora import esplora_json, synthetic_address, synthetic_tx, synthetic_txid
from chains.emulators.lifi import lifi_transfer
from chains.emulators.messaging import layerzero_message, wormhole_operation
from chains.emulators.midgard import midgard_action
from chains.emulators.world import EvmWorld, WorldInternal, WorldLog, WorldTokenTransfer, WorldTx
from chains.evm_decode import pad_topic
from tracer.core.models import Category, Label

ETH = 10**18
ROUTER = "0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146"
VAULT = "0x" + "7a" * 20
VICTIM = "0x" + "0e" * 20
FUNDER = "0x" + "0f" * 20
THIEF = "0x" + "11" * 20
ARB_THIEF = "0x" + "12" * 20
ARB_RELAYER = "0x" + "13" * 20
ARB_EXCHANGE = "0x" + "14" * 20
USDC_ETH = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"  # the real contract (else: flagged as spoofed)
USDC_ARB = "0xaf88d065e77c8cc2239327c5edb3a432268e5831"
BTC_VAULT = synthetic_address("thorchain-vault")
BTC_THIEF = synthetic_address("thief-btc")
BTC_EXCHANGE = synthetic_address("btc-exchange")
BTC_KEEP = synthetic_address("thief-btc-change")


OPT_THIEF = "0x" + "15" * 20
OPT_RELAYER = "0x" + "16" * 20
OPT_EXCHANGE = "0x" + "17" * 20
USDC_OPT = "0x0b2c639c533813f4aa9d7837caf62653d097ff85"
ACROSS_DEPOSITED = "0x32ed1a409ef04c7b0227189c3a103dc5ac10e775a15b785dcc510201f7c25ad3"  # current FundsDeposited
ACROSS_FILLED = "0x44b559f101f8fbcc8a0ea43fa91a05a729a5ea6e14a7c75aa750374690137208"  # current FilledRelay
DEPOSIT_ID = 777
ACROSS_IN, ACROSS_OUT = 900 * 10**6, 899 * 10**6


def b32(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def h(n: int) -> str:
    return "0x" + f"{n:064x}"


SWAP_TX, LIFI_TX, ARB_IN, ARB_OUT = h(0xE1), h(0xE2), h(0xA1), h(0xA2)
ARB_ACROSS, OPT_FILL, OPT_OUT = h(0xA3), h(0x0A1), h(0x0A2)
X_TX, X_ARRIVAL, X_ARRIVAL_TWIN, X_ONWARD = h(0xE3), h(0xA4), h(0xA6), h(0xA5)
ETH_BACK = "0x" + "18" * 20  # where the BTC swapped back into ETH lands
ETH_EXCHANGE = "0x" + "19" * 20
ETH_BACK_TX, ETH_BACK_OUT = h(0xE4), h(0xE5)
BACK_PAID_1E8 = 180_000_000  # 1.8 ETH for 0.09 BTC (fictional rate)
SG_POOL, SG_BASE_POOL, SG_EXECUTOR = "0x" + "c1" * 20, "0x" + "c2" * 20, "0x" + "c3" * 20  # Stargate (synthetic)
BASE_THIEF, BASE_EXCHANGE = "0x" + "c4" * 20, "0x" + "c5" * 20
SG_TX, SG_BASE_TX, SG_BASE_OUT = h(0xE6), h(0xB1), h(0xB2)
GUID = "0x" + "6e" * 32
SG_SENT, SG_RECEIVED = 2 * ETH, 1_998 * ETH // 1000
WH_CORE, WH_BRIDGE, WH_POLY_BRIDGE = "0x" + "d1" * 20, "0x" + "d2" * 20, "0x" + "d3" * 20  # Wormhole (synthetic)
POLY_THIEF, POLY_EXCHANGE = "0x" + "d4" * 20, "0x" + "d5" * 20
WETH_POLY = "0x7ceb23fd6bc0add59e62ac25578270cff1b9f619"
WH_TX, WH_REDEEM, WH_OUT = h(0xE7), h(0x1D1), h(0x1D2)
X_BRIDGE = "0x" + "b1" * 20  # a labelled bridge no resolver knows (the amount-time fallback)
X_PAYOUT = "0x" + "b2" * 20
BTC_OUT = synthetic_txid("thorchain-outbound")
BTC_FUND = synthetic_txid("thorchain-vault-funding")
BTC_SPEND = synthetic_txid("thief-spends")
MEMO = f"=:b:{BTC_THIEF}:0/1/0:t:30"
BACK_MEMO = "=:e:" + "0x" + "18" * 20
USDC = dict(token=USDC_ETH, symbol="USDC", name="Synthetic USD Coin", decimals=6)
ARB_USDC = dict(token=USDC_ARB, symbol="USDC", name="Synthetic USD Coin", decimals=6)
BTC_PAID = 40_000_000  # 0.4 BTC for 10 ETH (fictional rate)
USDC_SENT, USDC_PAID = 5_000 * 10**6, 4_990 * 10**6


def ethereum() -> EvmWorld:
    memo_args = encode(
        ["address", "address", "uint256", "string", "uint256"], [VAULT, "0x" + "0" * 40, 10 * ETH, MEMO, 2**40]
    )
    deposit = WorldLog(
        ROUTER,
        (DEPOSIT_TOPIC, pad_topic(VAULT), pad_topic("0x" + "0" * 40)),
        "0x" + encode(["uint256", "string"], [10 * ETH, MEMO]).hex(),
        0,
    )
    bridge_data = (
        b"\x42" * 32,
        "stargate",
        "synthetic",
        "0x" + "0" * 40,
        USDC_ETH,
        ARB_THIEF,
        USDC_SENT,
        42161,
        False,
        False,
    )
    started = WorldLog(LIFI_DIAMOND, (LIFI_STARTED_TOPIC,), "0x" + encode([LIFI_BRIDGE_DATA], [bridge_data]).hex(), 1)
    txs = [
        WorldTx(h(1), 90, 0, 1_700_000_000, FUNDER, THIEF, 4 * ETH),  # clean money before the theft
        WorldTx(h(2), 100, 0, 1_700_001_200, VICTIM, THIEF, 12 * ETH),  # the theft (ETH)
        WorldTx(
            h(3),
            100,
            1,
            1_700_001_200,
            VICTIM,
            THIEF,
            0,
            input="0xa9059cbb",
            tokens=(WorldTokenTransfer(sender=VICTIM, to=THIEF, value=USDC_SENT, log_index=0, **USDC),),
        ),
        WorldTx(
            SWAP_TX,
            101,
            0,
            1_700_001_212,
            THIEF,
            ROUTER,
            10 * ETH,
            gas_used=80_000,
            input=DEPOSIT_WITH_EXPIRY + memo_args.hex(),
            internals=(WorldInternal(ROUTER, VAULT, 10 * ETH, "0"),),
            logs=(deposit,),
        ),
        WorldTx(
            LIFI_TX,
            102,
            0,
            1_700_001_224,
            THIEF,
            LIFI_DIAMOND,
            0,
            gas_used=120_000,
            input="0x4630a0d8",
            tokens=(WorldTokenTransfer(sender=THIEF, to=LIFI_DIAMOND, value=USDC_SENT, log_index=0, **USDC),),
            logs=(started,),
        ),
    ]
    txs.append(WorldTx(X_TX, 103, 0, 1_700_001_236, THIEF, X_BRIDGE, ETH))
    sent = WorldLog(
        SG_POOL,
        (OFT_SENT, GUID, pad_topic(THIEF)),
        "0x" + encode(["uint32", "uint256", "uint256"], [30184, SG_SENT, SG_RECEIVED]).hex(),
        0,
    )
    txs.append(
        WorldTx(
            SG_TX, 104, 0, 1_700_001_248, THIEF, SG_POOL, SG_SENT, gas_used=90_000, input="0xc7c7f5b3", logs=(sent,)
        )
    )
    published = WorldLog(
        WH_CORE,
        (LOG_MESSAGE_PUBLISHED, pad_topic(WH_BRIDGE)),
        "0x" + encode(["uint64", "uint32", "bytes", "uint8"], [9, 0, b"synthetic", 1]).hex(),
        0,
    )
    txs.append(
        WorldTx(
            WH_TX, 105, 0, 1_700_001_260, THIEF, WH_BRIDGE, ETH, gas_used=90_000, input="0x9981509f", logs=(published,)
        )
    )
    txs.append(WorldTx(ETH_BACK_TX, 110, 0, 1_700_003_000, VAULT, ETH_BACK, BACK_PAID_1E8 * 10**10))  # outbound
    txs.append(WorldTx(ETH_BACK_OUT, 111, 0, 1_700_003_012, ETH_BACK, ETH_EXCHANGE, 179 * ETH // 100))
    world = EvmWorld(chain_id=1)
    world.contracts.update({ROUTER, VAULT, LIFI_DIAMOND, USDC_ETH, X_BRIDGE})
    world.add(txs)
    return world


def arbitrum(*, twin_arrival: bool = False) -> EvmWorld:
    """`twin_arrival`: a second payment that fits amount and time as well (the fallback must refuse)."""
    txs = [
        WorldTx(X_ARRIVAL, 5_030, 0, 1_700_003_000, X_PAYOUT, THIEF, 995 * ETH // 1000),
        WorldTx(X_ONWARD, 5_040, 0, 1_700_003_100, THIEF, ARB_EXCHANGE, 990 * ETH // 1000),
        WorldTx(
            ARB_IN,
            5_000,
            0,
            1_700_001_300,
            ARB_RELAYER,
            USDC_ARB,
            0,
            input="0xa9059cbb",
            tokens=(WorldTokenTransfer(sender=ARB_RELAYER, to=ARB_THIEF, value=USDC_PAID, log_index=0, **ARB_USDC),),
        ),
        WorldTx(h(0xA0), 4_990, 0, 1_700_001_000, FUNDER, ARB_THIEF, ETH // 100),  # gas money, clean
        WorldTx(
            ARB_OUT,
            5_010,
            0,
            1_700_001_400,
            ARB_THIEF,
            USDC_ARB,
            0,
            input="0xa9059cbb",
            tokens=(
                WorldTokenTransfer(sender=ARB_THIEF, to=ARB_EXCHANGE, value=4_000 * 10**6, log_index=0, **ARB_USDC),
            ),
        ),
    ]
    deposit_data = encode(
        ["bytes32", "bytes32", "uint256", "uint256", "uint32", "uint32", "uint32", "bytes32", "bytes32", "bytes"],
        [
            b32(USDC_ARB),
            b32(USDC_OPT),
            ACROSS_IN,
            ACROSS_OUT,
            1_700_001_450,
            1_700_011_450,
            0,
            b32(OPT_THIEF),
            bytes(32),
            b"",
        ],
    )
    topics = (ACROSS_DEPOSITED, "0x" + f"{10:064x}", "0x" + f"{DEPOSIT_ID:064x}", "0x" + b32(ARB_THIEF).hex())
    txs.append(
        WorldTx(
            ARB_ACROSS,
            5_020,
            0,
            1_700_001_460,
            ARB_THIEF,
            SPOKE_POOLS["arbitrum"],
            0,
            input="0x7b939232",
            tokens=(
                WorldTokenTransfer(
                    sender=ARB_THIEF, to=SPOKE_POOLS["arbitrum"], value=ACROSS_IN, log_index=0, **ARB_USDC
                ),
            ),
            logs=(WorldLog(SPOKE_POOLS["arbitrum"], topics, "0x" + deposit_data.hex(), 1),),
        )
    )
    if twin_arrival:
        txs.append(WorldTx(X_ARRIVAL_TWIN, 5_035, 0, 1_700_003_050, X_PAYOUT, THIEF, 996 * ETH // 1000))
    world = EvmWorld(chain_id=42161)
    world.contracts.update({USDC_ARB, SPOKE_POOLS["arbitrum"]})
    world.add(txs)
    return world


def optimism() -> EvmWorld:
    opt_usdc = dict(token=USDC_OPT, symbol="USDC", name="Synthetic USD Coin", decimals=6)
    fill_data = encode(
        [
            "bytes32",
            "bytes32",
            "uint256",
            "uint256",
            "uint256",
            "uint32",
            "uint32",
            "bytes32",
            "bytes32",
            "bytes32",
            "bytes32",
            "(bytes32,bytes32,uint256,uint8)",
        ],
        [
            b32(USDC_ARB),
            b32(USDC_OPT),
            ACROSS_IN,
            ACROSS_OUT,
            42161,
            1_700_011_450,
            0,
            bytes(32),
            b32(ARB_THIEF),
            b32(OPT_THIEF),
            bytes(32),
            (bytes(32), bytes(32), ACROSS_OUT, 0),
        ],
    )
    topics = (ACROSS_FILLED, "0x" + f"{42161:064x}", "0x" + f"{DEPOSIT_ID:064x}", "0x" + b32(OPT_RELAYER).hex())
    pool = SPOKE_POOLS["optimism"]
    txs = [
        WorldTx(
            OPT_FILL,
            9_000,
            0,
            1_700_001_500,
            OPT_RELAYER,
            pool,
            0,
            input="0xdeadbeef",
            tokens=(WorldTokenTransfer(sender=OPT_RELAYER, to=OPT_THIEF, value=ACROSS_OUT, log_index=0, **opt_usdc),),
            logs=(WorldLog(pool, topics, "0x" + fill_data.hex(), 1),),
        ),
        WorldTx(h(0x0A0), 8_990, 0, 1_700_001_000, FUNDER, OPT_THIEF, ETH // 100),  # gas money, clean
        WorldTx(
            OPT_OUT,
            9_010,
            0,
            1_700_001_600,
            OPT_THIEF,
            USDC_OPT,
            0,
            input="0xa9059cbb",
            tokens=(WorldTokenTransfer(sender=OPT_THIEF, to=OPT_EXCHANGE, value=ACROSS_OUT, log_index=0, **opt_usdc),),
        ),
    ]
    world = EvmWorld(chain_id=10)
    world.contracts.update({USDC_OPT, pool})
    world.add(txs)
    return world


def base() -> EvmWorld:
    received = WorldLog(
        SG_BASE_POOL,
        (OFT_RECEIVED, GUID, pad_topic(BASE_THIEF)),
        "0x" + encode(["uint32", "uint256"], [30101, SG_RECEIVED]).hex(),
        0,
    )
    txs = [
        WorldTx(
            SG_BASE_TX,
            7_000,
            0,
            1_700_001_400,
            SG_EXECUTOR,
            SG_BASE_POOL,
            0,
            gas_used=200_000,
            internals=(WorldInternal(SG_BASE_POOL, BASE_THIEF, SG_RECEIVED, "0"),),
            logs=(received,),
        ),
        WorldTx(SG_BASE_OUT, 7_010, 0, 1_700_001_500, BASE_THIEF, BASE_EXCHANGE, 199 * ETH // 100),
    ]
    world = EvmWorld(chain_id=8453)
    world.contracts.add(SG_BASE_POOL)
    world.add(txs)
    return world


def polygon() -> EvmWorld:
    weth = dict(token=WETH_POLY, symbol="WETH", name="Synthetic Wrapped Ether", decimals=18)
    txs = [
        WorldTx(h(0x1D0), 3_990, 0, 1_700_001_000, FUNDER, POLY_THIEF, ETH),  # gas money (POL), clean
        WorldTx(
            WH_REDEEM,
            4_000,
            0,
            1_700_001_900,
            POLY_THIEF,
            WH_POLY_BRIDGE,
            0,
            gas_used=150_000,
            input="0xc6878519",
            tokens=(WorldTokenTransfer(sender="0x" + "0" * 40, to=POLY_THIEF, value=ETH, log_index=0, **weth),),
        ),
        WorldTx(
            WH_OUT,
            4_010,
            0,
            1_700_002_000,
            POLY_THIEF,
            WETH_POLY,
            0,
            input="0xa9059cbb",
            tokens=(WorldTokenTransfer(sender=POLY_THIEF, to=POLY_EXCHANGE, value=ETH, log_index=0, **weth),),
        ),
    ]
    world = EvmWorld(chain_id=137)
    world.contracts.update({WETH_POLY, WH_POLY_BRIDGE})
    world.add(txs)
    return world


def layerzero_messages() -> list[dict]:
    return [
        layerzero_message(
            guid=GUID, src_eid=30101, dst_eid=30184, src_tx=SG_TX, dst_tx=SG_BASE_TX, receiver=SG_BASE_POOL
        )
    ]


def wormhole_operations() -> list[dict]:
    return [
        wormhole_operation(
            src_tx=WH_TX,
            to_chain=5,
            to_address=POLY_THIEF,
            token="0x" + "0" * 40,
            amount_8dec=10**8,
            target_tx=WH_REDEEM,
        )
    ]


def bitcoin() -> list[dict]:
    fund = synthetic_tx(
        "thorchain-vault-funding",
        [(None, None, None, 0)],
        [(BTC_VAULT, 900_000_000)],
        block=800_000,
        timestamp=1_700_000_000,
    )
    out = synthetic_tx(
        "thorchain-outbound",
        [(fund.txid, 0, BTC_VAULT, 900_000_000)],
        [(BTC_THIEF, BTC_PAID), (BTC_VAULT, 859_990_000), (None, 0)],
        block=800_010,
        timestamp=1_700_001_800,
    )
    spend = synthetic_tx(  # to an exchange, and back into ETH through THORChain (memo in the OP_RETURN)
        "thief-spends",
        [(out.txid, 0, BTC_THIEF, BTC_PAID)],
        [(BTC_EXCHANGE, 30_000_000), (BTC_VAULT, 9_000_000), (None, 0), (BTC_KEEP, 995_000)],
        block=800_020,
        timestamp=1_700_002_400,
    )
    docs = [esplora_json(tx) for tx in (fund, out, spend)]
    for doc, text in ((docs[1], f"OUT:{inbound_id(SWAP_TX)}"), (docs[2], BACK_MEMO)):
        memo = text.encode()
        vout = next(v for v in doc["vout"] if v["scriptpubkey_type"] == "op_return")
        vout["scriptpubkey"] = "6a" + bytes([len(memo)]).hex() + memo.hex()
    return docs


def midgard_actions() -> list[dict]:
    back = midgard_action(
        in_tx=BTC_SPEND,
        in_address=BTC_THIEF,
        in_asset="BTC.BTC",
        in_amount=9_000_000,
        outs=[(ETH_BACK, ETH_BACK_TX[2:].upper(), "ETH.ETH", BACK_PAID_1E8)],
        date_s=1_700_002_400,
        memo=BACK_MEMO,
    )
    return [
        back,
        midgard_action(
            in_tx=SWAP_TX,
            in_address=THIEF,
            in_asset="ETH.ETH",
            in_amount=10 * 10**8,
            outs=[(BTC_THIEF, BTC_OUT.upper(), "BTC.BTC", BTC_PAID)],
            affiliate_outs=[("thor1syntheticaffiliate", "", "THOR.RUNE", 123)],
            date_s=1_700_001_212,
            memo=MEMO,
        ),
    ]


def lifi_transfers() -> list[dict]:
    return [
        lifi_transfer(
            tool="stargate",
            sending=(LIFI_TX, 1, USDC_SENT, USDC_ETH, "USDC", 6),
            receiving=(ARB_IN, 42161, USDC_PAID, USDC_ARB, "USDC", 6),
            from_address=THIEF,
            to_address=ARB_THIEF,
            timestamp=1_700_001_300,
        )
    ]


def labels() -> list[Label]:
    """The analyst's labels: exchanges, a bridge without a resolver, the Bitcoin vault. The bridges' own contracts
    (router, diamond, SpokePools) and the Ethereum vault the router pays are known to heisttrace without a label."""
    src = "test-synthetic"
    return [
        Label("ethereum", X_BRIDGE, Category.BRIDGE, "Synthetic X Bridge", source=src),
        Label("ethereum", SG_POOL, Category.BRIDGE, "Stargate pool (synthetic)", source=src),
        Label("ethereum", WH_BRIDGE, Category.BRIDGE, "Wormhole token bridge (synthetic)", source=src),
        Label("base", BASE_EXCHANGE, Category.EXCHANGE, "Synthetic Exchange (Base)", source=src),
        Label("polygon", POLY_EXCHANGE, Category.EXCHANGE, "Synthetic Exchange (Polygon)", source=src),
        Label("arbitrum", ARB_EXCHANGE, Category.EXCHANGE, "Synthetic Exchange (Arbitrum)", source=src),
        Label("bitcoin", BTC_EXCHANGE, Category.EXCHANGE, "Synthetic Exchange (Bitcoin)", source=src),
        Label("bitcoin", BTC_VAULT, Category.BRIDGE, "THORChain vault (Bitcoin, synthetic)", source=src),
        Label("ethereum", ETH_EXCHANGE, Category.EXCHANGE, "Synthetic Exchange (Ethereum)", source=src),
        Label("optimism", OPT_EXCHANGE, Category.EXCHANGE, "Synthetic Exchange (Optimism)", source=src),
    ]


CASE = """[case]
id = "synthetic-crosschain"
title = "Synthetic cross-chain hack (fictional)"

[[seeds]]
chain = "ethereum"
address = "{thief}"

[trace]
since = 100
policy = "haircut"
max_hops = 10
min_taint = "0"
max_addresses = 50

[crosschain]
thorchain = "{midgard}"
lifi = "{lifi}"
layerzero = "{layerzero}"
wormhole = "{wormhole}"

[source]
ethereum = {{ kind = "etherscan", url = "{eth}" }}
arbitrum = {{ kind = "etherscan", url = "{eth}" }}
optimism = {{ kind = "etherscan", url = "{eth}" }}
base = {{ kind = "etherscan", url = "{eth}" }}
polygon = {{ kind = "etherscan", url = "{eth}" }}
bitcoin = {{ kind = "esplora", url = "{btc}/api" }}
"""
