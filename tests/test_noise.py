"""Noise flags on literal records (heuristics.noise is pure: no I/O)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from heuristics.noise import KNOWN_TOKENS, canonical_symbol, detect_noise, dust_threshold, flag_noise
from tracer.core.models import FEE_SINK, Asset, NoiseFlag, Transfer, TransferKind
from tracer.core.protocols import HistoryChunk

VICTIM = "0x" + "11" * 20
FRIEND = "0x" + "22" * 20
STRANGER = "0x" + "33" * 20
LOOKALIKE = "0x" + "1a" * 20
REAL_USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
FAKE = "0x" + "de" * 20
ETH = Asset("ethereum", None, "ETH", 18)
USDT = Asset("ethereum", REAL_USDT, "USDT", 6)


def tx(n: int) -> str:
    return f"0x{n:064x}"


def transfer(
    n: int,
    sender: str,
    receiver: str,
    amount: int,
    *,
    asset: Asset = ETH,
    kind: TransferKind = TransferKind.EXTERNAL,
    position: int = 1,
    noise: frozenset[NoiseFlag] = frozenset(),
) -> Transfer:
    return Transfer(
        "ethereum", tx(n), position, n, 0, 1_700_000_000 + n, sender, receiver, asset, amount, kind, True, noise
    )


def token(n: int, sender: str, receiver: str, amount: int, asset: Asset = USDT) -> Transfer:
    return transfer(n, sender, receiver, amount, asset=asset, kind=TransferKind.TOKEN, position=1_000_000)


def flags(records: list[Transfer]) -> list[set[str]]:
    return [{str(f) for f in t.noise} for t in records]


def test_zero_value_token_transfer() -> None:
    out = detect_noise([token(1, FRIEND, VICTIM, 0), token(2, FRIEND, VICTIM, 5_000_000)], traced={VICTIM})
    assert flags(out) == [{"zero-value"}, set()]


def test_fake_token_mimicking_a_real_symbol_is_spoofed() -> None:
    lookalikes = ["USDT", "usdt", "UЅDТ", "USD₮", "ＵＳＤＴ", " USDT "]
    records = [token(i, FRIEND, VICTIM, 10**9, Asset("ethereum", FAKE, s, 6)) for i, s in enumerate(lookalikes, 1)]
    records.append(token(50, FRIEND, VICTIM, 10**9))
    records.append(token(51, FRIEND, VICTIM, 10**9, Asset("ethereum", FAKE, "NOTUSDT2", 6)))
    out = detect_noise(records, traced={VICTIM})
    assert flags(out) == [{"spoofed"}] * len(lookalikes) + [set(), set()]


def test_same_symbol_on_another_chain_uses_that_chains_contracts() -> None:
    polygon_usdt = Asset("polygon", next(iter(KNOWN_TOKENS["polygon"]["USDT"])), "USDT", 6)
    record = Transfer("polygon", tx(1), 1_000_000, 1, 0, 1, FRIEND, VICTIM, polygon_usdt, 10**6, TransferKind.TOKEN)
    assert detect_noise([record], traced={VICTIM})[0].noise == frozenset()


def test_custom_known_tokens_flat_and_per_chain() -> None:
    mine = Asset("ethereum", FAKE, "GOLD", 18)
    other = Asset("ethereum", "0x" + "99" * 20, "GOLD", 18)
    records = [token(1, FRIEND, VICTIM, 10**18, mine), token(2, FRIEND, VICTIM, 10**18, other)]
    for known in ({"GOLD": {FAKE}}, {"ethereum": {"GOLD": {FAKE}}}):
        assert flags(detect_noise(records, known_tokens=known, traced={VICTIM})) == [set(), {"spoofed"}]


def test_transfer_from_victim_in_a_strangers_tx_is_spoofed() -> None:
    # address poisoning: a stranger's tx makes a token emit Transfer(victim -> lookalike, 0 or tiny)
    poison_zero = token(1, VICTIM, LOOKALIKE, 0, Asset("ethereum", FAKE, "TKN", 6))
    poison_tiny = token(2, VICTIM, LOOKALIKE, 3, Asset("ethereum", FAKE, "TKN", 6))
    # the victim's own tx: fee + token, tiny or not -> not spoofed
    own_fee = transfer(3, VICTIM, FEE_SINK, 10**15, kind=TransferKind.FEE, position=0)
    own_token = token(3, VICTIM, FRIEND, 3, Asset("ethereum", FAKE, "TKN", 6))
    # a drainer moving a large amount with an approval: not noise, it is the theft
    drained = token(4, VICTIM, STRANGER, 10**12)
    out = detect_noise([poison_zero, poison_tiny, own_fee, own_token, drained], traced={VICTIM})
    assert flags(out) == [{"spoofed", "zero-value"}, {"spoofed"}, set(), set(), set()]


def test_dust_from_strangers_only() -> None:
    paid = transfer(1, VICTIM, FRIEND, 10**18)
    dust_stranger = transfer(2, STRANGER, VICTIM, 10**12)
    dust_friend = transfer(3, FRIEND, VICTIM, 10**12)
    big_stranger = transfer(4, STRANGER, VICTIM, 10**18)
    cents = token(5, STRANGER, VICTIM, 10_000)  # 0.01 USDT
    dollar = token(6, STRANGER, VICTIM, 1_000_000)
    out = detect_noise([paid, dust_stranger, dust_friend, big_stranger, cents, dollar], traced={VICTIM})
    assert flags(out) == [set(), {"dust"}, set(), set(), {"dust"}, set()]
    assert dust_threshold(cents) == 10_000 and dust_threshold(paid) == 10**13


def test_without_traced_only_the_token_rules_apply() -> None:
    out = detect_noise([transfer(1, STRANGER, VICTIM, 1), token(2, VICTIM, LOOKALIKE, 0)])
    assert flags(out) == [set(), {"zero-value"}]


def test_existing_flags_are_kept_and_chunks_keep_their_range() -> None:
    already = transfer(1, STRANGER, VICTIM, 10**18, noise=frozenset({NoiseFlag.SPOOFED}))
    chunk = HistoryChunk((already, token(2, FRIEND, VICTIM, 0)), 5, 9, complete=False)
    flagged = flag_noise(chunk, traced={VICTIM})
    assert (flagged.start_block, flagged.end_block, flagged.complete) == (5, 9, False)
    assert flags(list(flagged.transfers)) == [{"spoofed"}, {"zero-value"}]


def test_canonical_symbol() -> None:
    assert canonical_symbol("UЅDТ") == canonical_symbol("usdt") == canonical_symbol("USD₮") == "USDT"
    assert canonical_symbol("WETH.e") == "WETH.E"


amounts = st.integers(min_value=0, max_value=10**24)
parties = st.sampled_from([VICTIM, FRIEND, STRANGER, LOOKALIKE])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(parties, parties, amounts, st.booleans(), st.sampled_from(["USDT", "DAI", "XYZ"]), st.booleans()),
        max_size=25,
    )
)
def test_never_drops_or_changes_anything_but_noise(rows: list[tuple[str, str, int, bool, str, bool]]) -> None:
    records = []
    for i, (sender, receiver, amount, is_token, symbol, real) in enumerate(rows, 1):
        if is_token:
            contract = REAL_USDT if real else FAKE
            records.append(token(i, sender, receiver, amount, Asset("ethereum", contract, symbol, 6)))
        else:
            records.append(transfer(i, sender, receiver, amount))
    out = detect_noise(records, traced={VICTIM})
    assert len(out) == len(records)
    for before, after in zip(records, out, strict=True):
        assert after.noise >= before.noise
        assert (before.tx_hash, before.position, before.amount, before.sender, before.receiver) == (
            after.tx_hash,
            after.position,
            after.amount,
            after.sender,
            after.receiver,
        )
        if after.kind is TransferKind.TOKEN and after.amount == 0:
            assert NoiseFlag.ZERO_VALUE in after.noise
    assert detect_noise(out, traced={VICTIM}) == out  # idempotent
