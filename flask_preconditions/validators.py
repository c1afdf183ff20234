"""Entity-tags and modification dates computed from versions and bodies.

Every function here is deterministic: the same version or body gives the same
entity-tag in every process, on every host and across restarts, which is what
lets many workers behind a load balancer agree on a resource's validator.

With a key (derived from the application's secret), a tag is a keyed MAC over
the resource's identity and its version or body digest: valid only for its
resource, not computable from a version, and revealing nothing of a body.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import json
import typing as t

_DIGEST_SIZE = 16


def _digest(data: bytes) -> str:
    # SHA-256 runs on the CPU's SHA extensions where it has them: on a 2 KB
    # body it is faster than BLAKE2b here. 128 bits are plenty for a validator.
    return hashlib.sha256(data).digest()[:_DIGEST_SIZE].hex()


#: What the entity-tag key is derived for: never the raw secret itself.
_KEY_PURPOSE = b"flask-preconditions entity-tag key v1"


def derive_etag_key(secret: str | bytes) -> bytes:
    """The entity-tag key for an application secret.

    An HMAC of a fixed purpose string under the secret, so that the secret
    that signs sessions never keys anything else directly.

    .. versionadded:: 0.2
    """
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    return hmac.new(secret, _KEY_PURPOSE, hashlib.sha256).digest()


@dataclasses.dataclass(frozen=True)
class EntityTagKeys:
    """The key entity-tags are made with, and the older keys still accepted.

    .. versionadded:: 0.2
    """

    #: The key new tags are made with.
    current: bytes
    #: Keys of tags still accepted during a key rotation (from
    #: ``SECRET_KEY_FALLBACKS``).
    previous: tuple[bytes, ...] = ()


def _mac(key: bytes, kind: bytes, identity: str, data: bytes) -> str:
    message = b"%s\0%s\0%s" % (kind, identity.encode("utf-8", "surrogatepass"), data)
    return hmac.digest(key, message, "sha256")[:_DIGEST_SIZE].hex()


def keyed_etag_for_version(version: t.Any, identity: str, key: bytes) -> str:
    """The entity-tag of a resource version, bound to the resource and keyed.

    :param version: as for :func:`etag_for_version`.
    :param identity: what names the resource (its URL rule and arguments, or
        the key the application gives it).
    :param key: from :func:`derive_etag_key`.

    .. versionadded:: 0.2
    """
    return _mac(key, b"v", identity, _version_bytes(version))


def keyed_etag_for_body(body: bytes, identity: str, key: bytes) -> str:
    """The entity-tag of a response body, bound to the resource and keyed.

    .. versionadded:: 0.2
    """
    return body_tags(body, identity, EntityTagKeys(key))[0]


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
    return _digest(_version_bytes(version))


def _version_bytes(version: t.Any) -> bytes:
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
    return data


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


_cached_keyed_etag = functools.lru_cache(maxsize=4096)(keyed_etag_for_version)


def version_tags(
    version: t.Any, identity: str, keys: EntityTagKeys | None
) -> tuple[str, tuple[str, ...]]:
    """The tag of a version now, and the tags older keys gave it.

    Without keys, the unkeyed :func:`etag_for_version` (and no older tags).

    .. versionadded:: 0.2
    """
    if keys is None:
        return etag_for_version_cached(version), ()
    kind = type(version)
    # Remembered like etag_for_version_cached, for the same reasons.
    make = _cached_keyed_etag if kind is int or kind is str else keyed_etag_for_version
    return make(version, identity, keys.current), tuple(
        make(version, identity, key) for key in keys.previous
    )


def body_tags(
    body: bytes, identity: str, keys: EntityTagKeys | None
) -> tuple[str, tuple[str, ...]]:
    """The tag of a body now, and the tags older keys gave it.

    .. versionadded:: 0.2
    """
    if keys is None:
        return etag_for_body(body), ()
    # The body is hashed once, whatever the number of keys.
    digest = hashlib.sha256(body).digest()
    return _mac(keys.current, b"b", identity, digest), tuple(
        _mac(key, b"b", identity, digest) for key in keys.previous
    )
