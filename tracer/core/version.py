"""The heisttrace version, written into manifests and `--version` (kept equal to pyproject's)."""

__version__ = "0.1.0"
