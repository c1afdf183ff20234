"""Comparing entity-tags and dates, as RFC 9110 §8.8.3.2 and §13.1 define it.

Plain functions, with no knowledge of Flask, for
:mod:`~flask_preconditions.conditions`.
"""

from __future__ import annotations

import datetime as dt

from werkzeug.datastructures import ETags

from .decisions import Validators
from .headers import parse_http_date


def is_current_tag(value: str, current: Validators | None, weak: bool) -> bool:
    """Whether a field value is exactly the current entity-tag.

    Clients nearly always send back the one tag they were given; recognising
    it saves parsing the list. ``weak`` allows the weak comparison (§8.8.3.2).
    """
    if current is None or current.etag is None or (current.weak and not weak):
        return False
    value = value.strip(" \t")
    if value.startswith("W/"):
        if not weak:
            return False
        value = value[2:]
    if value == f'"{current.etag}"':
        return True
    return any(value == f'"{tag}"' for tag in current.previous)


def strong_match(tags: ETags, current: Validators) -> bool:
    # RFC 9110 §8.8.3.2: strong comparison needs both tags to be strong.
    if tags.star_tag:
        return True
    return (
        current.etag is not None
        and not current.weak
        and (current.etag in tags or any(tag in tags for tag in current.previous))
    )


def weak_match(tags: ETags, current: Validators) -> bool:
    if tags.star_tag:
        return True
    return current.etag is not None and (
        tags.contains_weak(current.etag)
        or any(tags.contains_weak(tag) for tag in current.previous)
    )


#: Suffixes that compressing intermediaries append to a strong entity-tag when
#: they re-encode the representation: Apache's mod_deflate and mod_brotli, and
#: Flask-Compress.
CODING_SUFFIXES = ("-gzip", "-br", ":gzip", ":br", ":zstd", ":deflate")


def recoded_match(tags: ETags, current: Validators) -> bool:
    """Whether a tag is the current one with a content-coding suffix."""
    etag = current.etag
    if etag is None:
        return False
    return any(
        tag.endswith(suffix) and tag[: -len(suffix)] == etag
        for tag in tags.as_set(include_weak=True)
        for suffix in CODING_SUFFIXES
    )


def altered_match(tags: ETags, current: Validators) -> bool:
    """Whether a tag names the current representation as an intermediary
    altered it: weakened (``W/``) or re-encoded (a coding suffix)."""
    return current.etag is not None and (
        tags.contains_weak(current.etag) or recoded_match(tags, current)
    )


def unmodified_since(date: dt.datetime, last_modified: dt.datetime) -> bool:
    # HTTP-dates have a resolution of one second (RFC 9110 §5.6.7).
    return last_modified.replace(microsecond=0) <= date


def if_range_holds(value: str, current: Validators | None, now: dt.datetime) -> bool:
    """Whether an ``If-Range`` condition holds (RFC 9110 §13.1.5).

    An entity-tag holds if it is strong and strongly matches the current one.
    A date holds if it is exactly the current ``Last-Modified`` and that date
    is strong: at least one second before ``now`` (§8.8.2.2), so that no
    second change within the same second can hide behind it. Anything else,
    including a malformed value, does not hold, and the range is ignored.

    .. versionadded:: 0.2
    """
    value = value.strip(" \t")
    if current is None:
        return False
    if value.startswith(('"', "W/")):
        return (
            not value.startswith("W/")
            and current.etag is not None
            and not current.weak
            and value == f'"{current.etag}"'
        )
    date = parse_http_date(value)
    last_modified = current.last_modified
    return (
        date is not None
        and last_modified is not None
        and date == last_modified.replace(microsecond=0)
        and (now - last_modified).total_seconds() >= 1
    )
