"""Crossing chains: decoders of bridge deposits on the source chain and HTTP clients of the resolvers'
APIs (Midgard, LI.FI), each translating answers into :mod:`tracer.core.crossings` records."""
