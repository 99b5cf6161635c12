"""Whole-chain multi-input clustering over a bitcoin-etl export: `heisttrace cluster`.

:mod:`tracer.cluster.links` decides per transaction (CoinJoins by :mod:`heuristics.coinjoin`)
and gives the links; :mod:`tracer.cluster.local` (union-find of :mod:`heuristics.cluster`) and
:mod:`tracer.cluster.spark` (pyspark, large-star / small-star connected components) join them;
:mod:`tracer.cluster.output` writes the same files from either.
"""
