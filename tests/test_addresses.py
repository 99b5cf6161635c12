"""Property tests for address validation: round trips hold, corrupted or wrong-checksum addresses are rejected."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tracer.core import addresses as A
from tracer.core.errors import BadAddress, BadChain

PROPS = settings(derandomize=True, max_examples=150, deadline=None)
EVM_CHAINS = sorted(A.EVM_CHAINS)
BTC_VERSIONS = {0x00: "mainnet", 0x05: "mainnet", 0x6F: "testnet", 0xC4: "testnet"}
HRPS = {"bc": "mainnet", "tb": "testnet"}

hash160 = st.binary(min_size=20, max_size=20)


def _bech32_with_constant(hrp: str, version: int, program: bytes, const: int) -> str:
    """A segwit address built with an explicit checksum constant (to forge the wrong variant)."""
    data = [version] + (A._convertbits(list(program), 8, 5, pad=True) or [])
    polymod = A._bech32_polymod(A._hrp_expand(hrp) + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(A._BECH32_CHARSET[d] for d in data + checksum)


# ---------------------------------------------------------------------- EVM


@PROPS
@given(body=hash160, chain=st.sampled_from(EVM_CHAINS))
def test_evm_checksum_round_trip(body: bytes, chain: str) -> None:
    lower = "0x" + body.hex()
    checksummed = A.to_checksum(lower)
    assert checksummed.lower() == lower
    for form in (lower, checksummed, "0x" + body.hex().upper()):
        assert A.normalize_address(chain, form) == lower


@PROPS
@given(body=hash160, data=st.data())
def test_evm_wrong_checksum_rejected(body: bytes, data: st.DataObject) -> None:
    checksummed = A.to_checksum("0x" + body.hex())
    letters = [i for i, c in enumerate(checksummed) if i >= 2 and c.isalpha()]
    assume(len(letters) >= 2)  # flipping the only letter would give an all-one-case (unchecked) address
    i = data.draw(st.sampled_from(letters))
    flipped = checksummed[:i] + checksummed[i].swapcase() + checksummed[i + 1 :]
    with pytest.raises(BadAddress, match="checksum"):
        A.normalize_address("ethereum", flipped)


@pytest.mark.parametrize(
    "text", ["", "0x", "0x123", "0x" + "g" * 40, "6dd68bb7177edfb4f2f88fe62d80a6545378ef40", "0x" + "a" * 41]
)
def test_evm_malformed_rejected(text: str) -> None:
    with pytest.raises(BadAddress):
        A.normalize_address("ethereum", text)


def test_known_eip55_vector() -> None:
    # From EIP-55's test cases.
    assert A.to_checksum("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


# ---------------------------------------------------------------------- Bitcoin base58check


@PROPS
@given(body=hash160, version=st.sampled_from(sorted(BTC_VERSIONS)))
def test_base58check_round_trip(body: bytes, version: int) -> None:
    address = A.b58check_encode(bytes([version]) + body)
    assert A.b58check_decode(address) == bytes([version]) + body
    network = BTC_VERSIONS[version]
    assert A.bitcoin_network(address) == network
    assert A.validate_bitcoin(address, network=network) == address
    assert A.normalize_address("bitcoin", address) == address
    other = "testnet" if network == "mainnet" else "mainnet"
    with pytest.raises(BadAddress, match=f"expected {other}"):
        A.validate_bitcoin(address, network=other)


@PROPS
@given(body=hash160, version=st.sampled_from(sorted(BTC_VERSIONS)), data=st.data())
def test_base58check_single_character_corruption_rejected(body: bytes, version: int, data: st.DataObject) -> None:
    address = A.b58check_encode(bytes([version]) + body)
    i = data.draw(st.integers(0, len(address) - 1))
    replacement = data.draw(st.sampled_from([c for c in A._B58_ALPHABET if c != address[i]]))
    corrupted = address[:i] + replacement + address[i + 1 :]
    with pytest.raises(BadAddress):
        A.normalize_address("bitcoin", corrupted)


# ---------------------------------------------------------------------- Bitcoin bech32 / bech32m

segwit = st.one_of(
    st.tuples(st.just(0), st.binary(min_size=20, max_size=20)),
    st.tuples(st.just(0), st.binary(min_size=32, max_size=32)),
    st.tuples(st.just(1), st.binary(min_size=32, max_size=32)),
    st.tuples(st.integers(2, 16), st.binary(min_size=2, max_size=40)),
)


@PROPS
@given(program=segwit, hrp=st.sampled_from(sorted(HRPS)))
def test_segwit_round_trip(program: tuple[int, bytes], hrp: str) -> None:
    version, witness = program
    address = A.segwit_encode(hrp, version, witness)
    assert A.segwit_decode(address) == (hrp, version, witness)
    assert A.bitcoin_network(address) == HRPS[hrp]
    assert A.normalize_address("bitcoin", address) == address
    assert A.normalize_address("bitcoin", address.upper()) == address  # one-case upper is valid, stored lower


@PROPS
@given(program=segwit, hrp=st.sampled_from(sorted(HRPS)), data=st.data())
def test_segwit_single_character_corruption_rejected(program: tuple[int, bytes], hrp: str, data: st.DataObject) -> None:
    address = A.segwit_encode(hrp, *program)
    i = data.draw(st.integers(len(hrp) + 1, len(address) - 1))  # any character of the data part
    replacement = data.draw(st.sampled_from([c for c in A._BECH32_CHARSET if c != address[i]]))
    with pytest.raises(BadAddress):
        A.normalize_address("bitcoin", address[:i] + replacement + address[i + 1 :])


@PROPS
@given(program=segwit, hrp=st.sampled_from(sorted(HRPS)))
def test_segwit_wrong_checksum_variant_rejected(program: tuple[int, bytes], hrp: str) -> None:
    version, witness = program
    wrong = A._BECH32M_CONST if version == 0 else A._BECH32_CONST  # v0 needs bech32, v1+ needs bech32m
    with pytest.raises(BadAddress, match="checksum"):
        A.segwit_decode(_bech32_with_constant(hrp, version, witness, wrong))


def test_segwit_mixed_case_rejected() -> None:
    address = A.segwit_encode("bc", 0, bytes(range(20)))
    mixed = address[:5] + address[5:].upper()
    with pytest.raises(BadAddress, match="mixes upper and lower case"):
        A.normalize_address("bitcoin", mixed)


def test_bip173_and_bip350_vectors() -> None:
    assert A.bitcoin_network("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4") == "mainnet"
    assert A.bitcoin_network("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0") == "mainnet"
    assert A.bitcoin_network("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y") == "mainnet"
    with pytest.raises(BadAddress):  # BIP-350 invalid vector: v1 with a bech32 (not bech32m) checksum
        A.bitcoin_network("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd")


# ---------------------------------------------------------------------- TRON


@PROPS
@given(body=hash160)
def test_tron_round_trip(body: bytes) -> None:
    address = A.b58check_encode(b"\x41" + body)
    assert address.startswith("T")
    assert A.normalize_address("tron", address) == address
    assert A.normalize_address("tron", "41" + body.hex()) == address  # hex form converts to base58
    assert A.normalize_address("tron", "0x41" + body.hex().upper()) == address


@PROPS
@given(body=hash160, data=st.data())
def test_tron_single_character_corruption_rejected(body: bytes, data: st.DataObject) -> None:
    address = A.b58check_encode(b"\x41" + body)
    i = data.draw(st.integers(1, len(address) - 1))
    replacement = data.draw(st.sampled_from([c for c in A._B58_ALPHABET if c != address[i]]))
    with pytest.raises(BadAddress):
        A.normalize_address("tron", address[:i] + replacement + address[i + 1 :])


@PROPS
@given(body=hash160)
def test_bitcoin_version_is_not_a_tron_address(body: bytes) -> None:
    with pytest.raises(BadAddress):
        A.normalize_address("tron", A.b58check_encode(b"\x00" + body))


# ---------------------------------------------------------------------- across chains


def test_address_of_one_chain_is_rejected_on_another() -> None:
    evm = "0x6dd68bb7177edfb4f2f88fe62d80a6545378ef40"
    tron = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    for chain, address in (("bitcoin", evm), ("tron", evm), ("ethereum", tron), ("bitcoin", tron)):
        with pytest.raises(BadAddress):
            A.normalize_address(chain, address)
    with pytest.raises(BadChain):
        A.normalize_address("solana", evm)
