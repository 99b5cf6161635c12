"""Incident response after a trace: watch dormant loot, freeze-request packs, shareable indicators."""
