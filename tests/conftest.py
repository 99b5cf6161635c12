"""Shared pytest fixtures. Keep this file small: fixtures live in their own modules and are imported here."""

from tests.anvil import anvil_node, anvil_scenario

__all__ = ["anvil_node", "anvil_scenario"]
