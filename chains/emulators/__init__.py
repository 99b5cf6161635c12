"""Explorer emulators: real HTTP servers on 127.0.0.1 over a world of transactions.

They serve the offline demo, the benchmarks and the tests. Everything they serve is
whatever world they are given — the demo's world is synthetic and says so.
"""
