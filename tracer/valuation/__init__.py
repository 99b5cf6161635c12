"""USD valuation of a bundle: price books, the valued events, and the pass that adds USD columns."""
