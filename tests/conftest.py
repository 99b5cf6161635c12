"""Shared pytest fixtures. Keep this file small: fixtures live in their own modules and are imported here."""

from tests.anvil import anvil_node, anvil_scenario
from tests.loopback_only import install, loopback_only

install()

__all__ = ["anvil_node", "anvil_scenario", "loopback_only"]
