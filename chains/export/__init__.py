"""Bulk chain exports as a source: ethereum-etl / BigQuery `crypto_ethereum` and bitcoin-etl tables.

`heisttrace index-export DIR` builds an address-partitioned, sorted Parquet index once
(:mod:`chains.export.evm_index`, :mod:`chains.export.utxo_index`); the adapters
(:class:`chains.export.evm.ExportAdapter`, :class:`chains.export.utxo.ExportUtxoAdapter`)
then serve histories from it with zero network requests, as the same records the
Etherscan and Esplora adapters make.
"""
