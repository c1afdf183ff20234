"""Entity-tags and modification dates computed from versions and bodies.

Every function here is deterministic: the same version or body gives the same
entity-tag in every process, on every host and across restarts, which is what
lets many workers behind a load balancer agree on a resource's validator.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import typing as t

_DIGEST_SIZE = 16


def _digest(data: bytes) -> str:
    # SHA-256 runs on the CPU's SHA extensions where it has them: on a 2 KB
    # body it is faster than BLAKE2b here. 128 bits are plenty for a validator.
    return hashlib.sha256(data).digest()[:_DIGEST_SIZE].hex()


def etag_for_version(version: t.Any) -> str:
    """Compute the opaque entity-tag for a resource version.

    ``int``, ``str`` and ``bytes`` versions are hashed with their type, so
    ``1`` and ``"1"`` give different tags; any other value must be JSON
    serialisable and is hashed in its canonical JSON form (sorted keys, no
    whitespace). The result is 32 hexadecimal characters, without quotes.
    Python's :func:`hash` is never used: it differs between processes.

    :raise TypeError: the version is not ``int``, ``str``, ``bytes`` or JSON
        serialisable.

    .. versionadded:: 0.1
    """
    kind = type(version)
    if kind is int:
        data = b"i:%d" % version
    elif kind is str:
        data = b"s:" + version.encode("utf-8", "surrogatepass")
    elif kind is bytes:
        data = b"b:" + version
    else:
        try:
            text = json.dumps(
                version,
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
            )
        except (TypeError, ValueError) as e:
            raise TypeError(
                "A resource version must be an int, str, bytes or a"
                f" JSON-serialisable value, not {kind.__name__!r}: {e}"
            ) from None
        data = b"j:" + text.encode("utf-8", "surrogatepass")
    return _digest(data)


# Versions repeat (every read of an unchanged resource asks for the same tag),
# so the tags of exact int and str versions are kept, a bounded number of them.
# Other types are computed each time: bool equals int (1 == True) and other
# values may be unhashable.
_cached_etag = functools.lru_cache(maxsize=4096)(etag_for_version)


def etag_for_version_cached(version: t.Any) -> str:
    """:func:`etag_for_version`, remembered for ``int`` and ``str`` versions."""
    kind = type(version)
    if kind is int or kind is str:
        return _cached_etag(version)
    return etag_for_version(version)


def etag_for_body(body: bytes) -> str:
    """Compute the opaque entity-tag of a response body.

    .. versionadded:: 0.1
    """
    return _digest(body)


def to_last_modified(value: dt.datetime | dt.date) -> dt.datetime:
    """Normalise a modification date as an HTTP-date would carry it.

    Naive datetimes are taken to be UTC, aware ones are converted to UTC, and
    microseconds are dropped (HTTP-dates have a resolution of one second). A
    :class:`~datetime.date` is taken as midnight UTC.

    :raise TypeError: the value is not a date or datetime.

    .. versionadded:: 0.1
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        else:
            value = value.astimezone(dt.timezone.utc)
        return value.replace(microsecond=0)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    raise TypeError(
        "A last-modified function must return a datetime, a date or None,"
        f" not {type(value).__name__!r}."
    )
