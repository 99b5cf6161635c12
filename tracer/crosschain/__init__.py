"""Following stolen value across chains: resolvers behind one interface (:mod:`tracer.crosschain.resolvers`),
the continuation onto destination chains and the crossing accounting (:mod:`tracer.crosschain.follow`)."""
