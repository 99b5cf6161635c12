"""The one exception tree. Every error carries a plain, user-facing message.

The CLI maps these classes to exit codes in one place (:mod:`tracer.cli`).
"""

from __future__ import annotations


class TracerError(Exception):
    """Base of every heisttrace error; `str(e)` is the user-facing sentence."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(TracerError, ValueError):
    """Arguments, case file, address or chain are wrong (exit 2)."""

    exit_code = 2


class BadAddress(BadInput):
    """An address does not parse or fails its checksum."""


class BadChain(BadInput):
    """A chain slug is unknown or not supported for the operation."""


class BadCaseFile(BadInput):
    """A case file is malformed; the message names the file, the key and what was expected."""


class BadLabelFile(BadInput):
    """A label import file is malformed; the message names the line."""


class SourceError(TracerError):
    """A data source failed: unreachable, bad key, retries exhausted (exit 3)."""

    exit_code = 3


class RetriableSourceError(SourceError):
    """A transient failure (timeout, reset, 429, 5xx, rate-limit body); the client retries it."""


class SourceRejected(SourceError):
    """The source answered with a definitive error (invalid key, unsupported chain, bad request)."""

    http_status: int | None = None  # set by the HTTP client for 4xx answers


class SourceNotFound(SourceRejected):
    """The source does not know the thing asked (HTTP 404 "not found")."""

    http_status = 404


class RetriesExhausted(SourceError):
    """A retriable failure persisted past the retry budget."""


class IncompleteTrace(TracerError):
    """A budget or an offline gap left the trace incomplete (exit 4)."""

    exit_code = 4


class OfflineGap(IncompleteTrace):
    """`--offline` was asked but the store lacks a range; the message names address and range."""


class StoreError(TracerError):
    """The local store is unusable (corrupt, locked too long, newer schema)."""

    exit_code = 1
