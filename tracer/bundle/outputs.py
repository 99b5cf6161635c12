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


# --------------------------------------------------------------------------- atomic bundles

#: Files a directory may hold to count as a heisttrace bundle (or a `--compare` directory of bundles).
BUNDLE_MARKERS = ("manifest.json", "comparison.json")
_STAGING_PREFIX = ".heisttrace-staging-"
_RETIRED_PREFIX = ".heisttrace-retired-"


def check_bundle_dir(raw: str | Path, *, flag: str = "--out") -> Path:
    """`raw` as a bundle target: writable, not the filesystem root, not a file, and either absent,
    empty, or an earlier heisttrace bundle (which the new one replaces); BadInput otherwise."""
    directory = check_output_dir(raw, flag=flag)
    resolved = directory.resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise BadInput(f"{flag} {raw}: refusing to write a bundle over {resolved}; give a directory of its own")
    if directory.is_dir() and any(directory.iterdir()) and not any((directory / m).is_file() for m in BUNDLE_MARKERS):
        raise BadInput(
            f"{flag} {raw}: the directory is not empty and is not a heisttrace bundle; give a new or empty directory"
        )
    return directory


def staging_dir(target: Path) -> Path:
    """A fresh empty sibling of `target` to write the new bundle into (same filesystem: rename is atomic)."""
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target)
    return Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{target.name}-", dir=target.parent))


def _sweep(target: Path) -> None:
    """Remove staging and retired directories a killed earlier write of `target` left behind."""
    import shutil

    for prefix in (_STAGING_PREFIX, _RETIRED_PREFIX):
        for leftover in target.parent.glob(f"{prefix}{target.name}-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def swap_in(staged: Path, target: Path) -> None:
    """Make the complete bundle in `staged` appear at `target` in one step; the old one is removed after.

    A reader (or a kill) sees either the previous bundle or the new one, never a mix, and no stale
    file of the previous bundle survives beside the new one.
    """
    import shutil

    _fsync_tree(staged)
    if not target.exists():
        os.replace(staged, target)
    elif _exchange(staged, target):
        shutil.rmtree(staged, ignore_errors=True)  # `staged` now holds the previous bundle
    else:  # no atomic exchange: retire the old one first (a kill here leaves it in a retired sibling)
        retired = target.parent / f"{_RETIRED_PREFIX}{target.name}-{os.getpid()}"
        os.replace(target, retired)
        os.replace(staged, target)
        shutil.rmtree(retired, ignore_errors=True)
    _fsync_dir(target.parent)


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(root)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
