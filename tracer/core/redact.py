"""The one URL redaction: what of a URL may be shown, logged, stored or shared.

:func:`redact_url` removes every place a hosted node or explorer hides a credential:

- userinfo (``https://user:pass@host`` -> ``https://***@host``);
- key-like query parameters (``apikey=``, ``api_key=``, ``key=``, ``token=``, ``access_token=``,
  ``secret=``, ``auth=``, ``password=``);
- key-like path segments: a segment of 8+ characters after ``/v1/``, ``/v2/``, ``/v3/`` that is not a
  plain word (Alchemy, Infura, ...; ``/v2/api`` stays), and any segment of 20+ characters made of
  hex / base64url-ish characters with a digit (QuickNode, Ankr, ...) that is not a chain identifier.

:func:`redact_text` applies the same rules to every URL inside free text (error messages, log lines)
plus the literal `secrets` given. :func:`url_fingerprint` is a short, non-reversible tag of the full
URL: manifests keep the redacted URL and this fingerprint, never the secret.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

REDACTED = "***"

_KEY_PARAM = re.compile(
    r"(?i)([?&;](?:api[-_]?key|apikey|key|access[-_]?token|token|secret|auth|password|passwd)=)([^&#;\s\"'<>]*)"
)
_VERSION_SEGMENT = re.compile(r"(?i)^v\d+$")
_KEYISH_SEGMENT = re.compile(r"^[A-Za-z0-9_\-=+.~%]{20,}$")
_HAS_DIGIT = re.compile(r"\d")
_PLAIN_WORD = re.compile(r"[a-z]+(?:[-_][a-z]+)*")
_URL_IN_TEXT = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s\"'<>]+")


#: Long path segments that are chain identifiers, not keys (tx ids, block hashes, addresses).
_CHAIN_ID_SEGMENT = re.compile(
    r"^(?:0x[0-9a-fA-F]+|[0-9a-fA-F]{64}|(?:bc|tb|bcrt|ltc|tltc)1[02-9ac-hj-np-z]{8,87}"
    r"|[13mn2][1-9A-HJ-NP-Za-km-z]{24,34})$"
)


def _keyish(segment: str) -> bool:
    """A path segment that looks like a credential (long, key alphabet, has a digit, not a chain identifier)."""
    return (
        bool(_KEYISH_SEGMENT.match(segment))
        and bool(_HAS_DIGIT.search(segment))
        and not _CHAIN_ID_SEGMENT.match(segment)
    )


def _redact_path(path: str) -> str:
    segments = path.split("/")
    out: list[str] = []
    after_version = False
    for segment in segments:
        versioned_key = after_version and len(segment) >= 8 and not _PLAIN_WORD.fullmatch(segment)
        if segment and (versioned_key or _keyish(segment)):
            out.append(REDACTED)
        else:
            out.append(segment)
        after_version = bool(_VERSION_SEGMENT.match(segment))
    return "/".join(out)


def redact_url(url: str) -> str:
    """`url` with userinfo, key-like path segments and key-like query parameters as ``***``."""
    if not isinstance(url, str) or not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _KEY_PARAM.sub(lambda m: m.group(1) + REDACTED, url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = _KEY_PARAM.sub(lambda m: m.group(1) + REDACTED, "?" + parts.query)[1:] if parts.query else ""
    fragment = REDACTED if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, _redact_path(parts.path), query, fragment))


def secret_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Every form (raw, URL-quoted) of each secret, longest first, for literal replacement."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
    return tuple(sorted(forms, key=len, reverse=True))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with each literal secret and every URL inside it redacted (see :func:`redact_url`)."""
    if not isinstance(text, str):
        return text
    for form in secret_forms(secrets):
        text = text.replace(form, REDACTED)
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    return _KEY_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def url_fingerprint(url: str) -> str:
    """A short, non-reversible tag of the whole URL (tells two keys apart without revealing either)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def url_host(url: str) -> str:
    """The host (and port) of `url`, without userinfo."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def describe_url(url: str) -> dict[str, str]:
    """What a manifest records about a source URL: host, redacted URL and fingerprint."""
    return {"host": url_host(url), "url": redact_url(url), "url_fingerprint": url_fingerprint(url)}


def carries_secret(text: str) -> bool:
    """True when `text` still holds something :func:`redact_text` would remove."""
    return redact_text(text) != text
