"""Output directories: refuse an unusable one before any work is done."""

from __future__ import annotations

import os
from pathlib import Path

from tracer.core.errors import BadInput


def file_in_the_way(directory: Path) -> Path | None:
    """The nearest existing ancestor of `directory` (itself included) when it is a file, else None."""
    for ancestor in (directory, *directory.parents):
        if ancestor.exists():
            return None if ancestor.is_dir() else ancestor
    return None


def missing_directory(directory: Path) -> str:
    """Why `directory` cannot hold output: a file is in the way, or it does not exist."""
    blocker = file_in_the_way(directory)
    return f"{blocker} is a file, not a directory" if blocker else f"the directory {directory} does not exist"


def check_output_dir(raw: str | Path, *, flag: str = "--out") -> Path:
    """The directory `raw` names, when it exists or can be created and written; BadInput otherwise."""
    if not str(raw).strip():
        raise BadInput(f"{flag} needs a directory name, not an empty string")
    directory = Path(raw)
    blocker = file_in_the_way(directory)
    if blocker is not None:
        raise BadInput(f"cannot write to {directory}: {blocker} is a file, not a directory")
    existing = next((a for a in (directory, *directory.parents) if a.exists()), Path("."))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write to {directory}: {existing} is not writable")
    return directory
