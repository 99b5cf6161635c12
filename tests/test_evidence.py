"""Raw-response evidence: which archived responses a trace used."""

from __future__ import annotations

from dataclasses import dataclass

from tracer.sources.evidence import collect_raw_responses, referenced_keys


@dataclass
class _Raw:
    sha256: str
    source: str
    url: str
    size: int


class _Archive:
    def __init__(self, rows: list[_Raw]) -> None:
        self.rows = rows

    def list_responses(self, *, source: str | None = None) -> list[_Raw]:
        return self.rows


def test_referenced_keys_reads_query_and_path() -> None:
    assert referenced_keys("http://h/v2/api?chainid=1&action=txlist&address=0xAB&apikey=***") == {"0xab"}
    assert referenced_keys("http://h/api?module=account&txhash=0xFF") == {"0xff"}
    assert referenced_keys("http://h/api/address/bc1qxyz/txs/chain") == {"bc1qxyz"}
    assert referenced_keys("http://h/api/tx/abcd/outspends") == {"abcd"}
    assert referenced_keys("http://h/api/blocks/tip/height") == set()


def test_only_responses_naming_read_addresses_are_listed_sorted() -> None:
    archive = _Archive(
        [
            _Raw("bb", "etherscan", "http://h/v2/api?address=0xa1", 10),
            _Raw("aa", "etherscan", "http://h/v2/api?address=0xa2", 20),
            _Raw("cc", "etherscan", "http://h/v2/api?address=0xother", 30),
            _Raw("dd", "etherscan", "http://h/v2/api?module=proxy&action=eth_blockNumber", 5),
        ]
    )
    used = collect_raw_responses(archive, ["0xA1", "0xa2"])
    assert [r["sha256"] for r in used] == ["aa", "bb"]
    assert used[0] == {"sha256": "aa", "source": "etherscan", "url": "http://h/v2/api?address=0xa2", "size": 20}
