"""Address validation and normalisation for EVM, Bitcoin and TRON.

- EVM: `0x` + 40 hex; mixed case must carry a valid EIP-55 checksum; stored lowercase.
- Bitcoin: base58check P2PKH/P2SH and bech32 (v0) / bech32m (v1+) segwit, mainnet or testnet;
  bech32 stored lowercase, base58 as given.
- TRON: base58check with version byte 0x41 (`T…`).

Two pseudo-addresses stand for parties that have no address (see README, "Sources"):

- :data:`GENESIS` (``genesis``) is the sender of an EVM genesis allocation (Etherscan's
  ``"from": "GENESIS"``): value from nobody. It is a transfer's sender only (like the fee
  sink is a receiver), never an address a user, a label or a case may give;
- a Bitcoin output without an address (P2PK, bare multisig, the genesis coinbase, any
  non-standard spendable script) is named by :func:`script_pseudo_address`:
  ``script-`` + the sha256 of the output script (64 hex digits, Esplora's scripthash).
  It is stable, cannot be mistaken for a real address (no address contains ``-``) and is
  traced like any other output; only OP_RETURN outputs are burnt.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from tracer.core.errors import BadAddress

_HEX40 = re.compile(r"0x[0-9a-fA-F]{40}")
_LOWER_EVM = re.compile(r"0x[0-9a-f]{40}")
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3

#: Sender of an EVM genesis allocation (an inflow from nobody).
GENESIS = "genesis"
SCRIPT_PREFIX = "script-"
_SCRIPT_PSEUDO = re.compile(r"script-[0-9a-f]{64}")

EVM_CHAINS = frozenset({"ethereum", "bsc", "polygon", "arbitrum", "optimism", "base", "avalanche"})

#: base58 version bytes -> (network, script type)
_BTC_VERSIONS = {
    0x00: ("mainnet", "p2pkh"),
    0x05: ("mainnet", "p2sh"),
    0x6F: ("testnet", "p2pkh"),
    0xC4: ("testnet", "p2sh"),
}
_BTC_HRPS = {"bc": "mainnet", "tb": "testnet", "bcrt": "regtest"}


def keccak256(data: bytes) -> bytes:
    from eth_hash.auto import keccak

    return keccak(data)


def to_checksum(address: str) -> str:
    """EIP-55 checksum form of a 0x-prefixed hex address."""
    lower = address[2:].lower()
    digest = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def validate_evm(address: str) -> str:
    """Return the lowercase form of a valid EVM address, or raise BadAddress."""
    if not isinstance(address, str) or not _HEX40.fullmatch(address):
        raise BadAddress(f"not an EVM address: {address!r} (expected 0x followed by 40 hex digits)")
    body = address[2:]
    if body != body.lower() and body != body.upper() and to_checksum(address) != address:
        raise BadAddress(f"EVM address {address} has a wrong EIP-55 checksum (mixed case must match it)")
    return address.lower()


def b58decode(text: str) -> bytes:
    """Decode base58 text to bytes (leading '1's become zero bytes)."""
    num = 0
    for char in text:
        try:
            num = num * 58 + _B58_INDEX[char]
        except KeyError:
            raise BadAddress(f"invalid base58 character {char!r}") from None
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + body


def b58encode(data: bytes) -> str:
    num = int.from_bytes(data, "big")
    out = []
    while num:
        num, rem = divmod(num, 58)
        out.append(_B58_ALPHABET[rem])
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + "".join(reversed(out))


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def b58check_decode(text: str) -> bytes:
    """Payload (version byte included) of a base58check string, checksum verified."""
    raw = b58decode(text)
    if len(raw) < 5 or _sha256d(raw[:-4])[:4] != raw[-4:]:
        raise BadAddress(f"base58check checksum failed for {text!r}")
    return raw[:-4]


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + _sha256d(payload)[:4])


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convertbits(data: list[int], frombits: int, tobits: int, *, pad: bool) -> list[int] | None:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (tobits - bits)) & maxv)
    elif not pad and (bits >= frombits or ((acc << (tobits - bits)) & maxv)):
        return None
    return out


def segwit_encode(hrp: str, version: int, program: bytes) -> str:
    """Encode a segwit address (bech32 for v0, bech32m for v1+)."""
    data = [version] + (_convertbits(list(program), 8, 5, pad=True) or [])
    const = _BECH32_CONST if version == 0 else _BECH32M_CONST
    polymod = _bech32_polymod(_hrp_expand(hrp) + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32_CHARSET[d] for d in data + checksum)


def segwit_decode(address: str) -> tuple[str, int, bytes]:
    """(hrp, witness version, program) of a valid segwit address, or BadAddress."""
    if address.lower() != address and address.upper() != address:
        raise BadAddress(f"bech32 address {address!r} mixes upper and lower case")
    addr = address.lower()
    pos = addr.rfind("1")
    if pos < 1 or pos + 7 > len(addr) or len(addr) > 90:
        raise BadAddress(f"not a bech32 address: {address!r}")
    hrp, rest = addr[:pos], addr[pos + 1 :]
    if any(c not in _BECH32_CHARSET for c in rest):
        raise BadAddress(f"invalid bech32 character in {address!r}")
    data = [_BECH32_CHARSET.index(c) for c in rest]
    const = _bech32_polymod(_hrp_expand(hrp) + data)
    version = data[0]
    expected = _BECH32_CONST if version == 0 else _BECH32M_CONST
    if const != expected:
        raise BadAddress(f"bech32 checksum failed for {address!r}")
    program = _convertbits(data[1:-6], 5, 8, pad=False)
    if program is None or not 2 <= len(program) <= 40 or version > 16:
        raise BadAddress(f"invalid witness program in {address!r}")
    if version == 0 and len(program) not in (20, 32):
        raise BadAddress(f"invalid v0 witness program length in {address!r}")
    return hrp, version, bytes(program)


def bitcoin_network(address: str) -> str:
    """`mainnet`, `testnet` or `regtest` for a valid Bitcoin address, or BadAddress."""
    if not isinstance(address, str) or not address:
        raise BadAddress(f"not a Bitcoin address: {address!r}")
    lowered = address.lower()
    for hrp, network in sorted(_BTC_HRPS.items(), key=lambda kv: -len(kv[0])):
        if lowered.startswith(hrp + "1"):
            segwit_decode(address)
            return network
    payload = b58check_decode(address)
    if len(payload) != 21 or payload[0] not in _BTC_VERSIONS:
        raise BadAddress(f"not a Bitcoin address: {address!r} (unknown version byte or length)")
    return _BTC_VERSIONS[payload[0]][0]


def script_pseudo_address(script_hex: str) -> str:
    """The pseudo-address of a Bitcoin output script that has no address: ``script-<sha256 of the script>``."""
    try:
        script = bytes.fromhex(script_hex)
    except (TypeError, ValueError):
        raise BadAddress(f"not a hex output script: {str(script_hex)[:80]!r}") from None
    return SCRIPT_PREFIX + hashlib.sha256(script).hexdigest()


def is_script_pseudo_address(address: str) -> bool:
    """True for a :func:`script_pseudo_address` (any case)."""
    return isinstance(address, str) and _SCRIPT_PSEUDO.fullmatch(address.lower()) is not None


def validate_bitcoin(address: str, *, network: str | None = "mainnet") -> str:
    """Normalised Bitcoin address (bech32 lowercase); `network=None` accepts any network.

    A script pseudo-address (:func:`script_pseudo_address`) belongs to no network and is accepted, lowercased.
    """
    if is_script_pseudo_address(address):
        return address.lower()
    found = bitcoin_network(address)
    if network is not None and found != network:
        raise BadAddress(f"Bitcoin address {address} is a {found} address, expected {network}")
    return address.lower() if found and address.lower().startswith(("bc1", "tb1", "bcrt1")) else address


def validate_tron(address: str) -> str:
    """A valid TRON base58 address (`T…`, version 0x41); hex `41…` is converted to base58."""
    if isinstance(address, str) and re.fullmatch(r"(0x)?41[0-9a-fA-F]{40}", address):
        return b58check_encode(bytes.fromhex(address[-42:]))
    if not isinstance(address, str) or not address.startswith("T"):
        raise BadAddress(f"not a TRON address: {address!r} (expected base58 starting with T)")
    try:
        payload = b58check_decode(address)
    except BadAddress as exc:
        raise BadAddress(f"not a TRON address: {exc}") from None
    if len(payload) != 21 or payload[0] != 0x41:
        raise BadAddress(f"not a TRON address: {address!r}")
    return address


@lru_cache(maxsize=1 << 20)
def _normalize_cached(chain: str, address: str) -> str:
    if chain in EVM_CHAINS:
        return validate_evm(address)
    if chain == "bitcoin":
        return validate_bitcoin(address, network=None)
    if chain == "tron":
        return validate_tron(address)
    from tracer.core.errors import BadChain

    raise BadChain(f"unknown chain {chain!r}")


def normalize_address(chain: str, address: str) -> str:
    """Validate `address` for `chain` and return its stored form; BadAddress when invalid."""
    if chain in EVM_CHAINS and isinstance(address, str) and _LOWER_EVM.fullmatch(address):
        return address
    return _normalize_cached(chain, address)


def address_type(address: str | None) -> str:
    """The script type an address implies: p2pkh, p2sh, p2wpkh, p2wsh, p2tr, or '' when unknown."""
    if not address:
        return ""
    low = address.lower()
    if low.startswith(("bc1q", "tb1q", "bcrt1q")):
        return "p2wpkh" if len(low) <= 44 else "p2wsh"
    if low.startswith(("bc1p", "tb1p", "bcrt1p")):
        return "p2tr"
    if address[0] in "1mn":
        return "p2pkh"
    if address[0] in "32":
        return "p2sh"
    return ""
