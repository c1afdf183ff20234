"""Parsing of the precondition header fields (RFC 9110 §8.8.3, §5.6.7, §13.1).

Plain functions from field values to values, with no knowledge of Flask. Each
value is checked against an anchored, linear grammar before anything else reads
it, so hostile input costs time proportional to its length.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t

from werkzeug.datastructures import ETags
from werkzeug.http import parse_date
from werkzeug.http import parse_etags

# RFC 9110 §8.8.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, and §5.6.1 lists
# that may contain empty elements. Werkzeug's parse_etags is quadratic on some
# malformed input (measured: 6 KB of '"a"x, ' takes 70 ms, 96 KB 14 s), so a
# value is checked against this linear, backtracking-free grammar first and only
# well-formed lists reach Werkzeug.
_ENTITY_TAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
_ENTITY_TAG_LIST = re.compile(
    rf"[ \t]*(?:,[ \t]*)*{_ENTITY_TAG}"
    rf"(?:[ \t]*,(?:[ \t]*,)*[ \t]*{_ENTITY_TAG})*"
    r"(?:[ \t]*,)*[ \t]*"
)

# RFC 9110 §5.6.7: the three forms of HTTP-date, names case-sensitive. Werkzeug
# (through email.utils) also reads lists of dates, numeric zones and trailing
# text, which §13.1.3 and §13.1.4 say must be ignored; a value is checked
# against this anchored, linear grammar before Werkzeug parses it.
_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_DAY_LONG = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = "[0-9]{2}:[0-9]{2}:[0-9]{2}"
_HTTP_DATE = re.compile(
    rf"{_DAY}, [0-9]{{2}} {_MONTH} [0-9]{{4}} {_TIME} GMT"
    rf"|{_DAY_LONG}, [0-9]{{2}}-{_MONTH}-(?P<short_year>[0-9]{{2}}) {_TIME} GMT"
    rf"|{_DAY} {_MONTH} (?:[0-9]{{2}}| [0-9]) {_TIME} [0-9]{{4}}"
)


def parse_entity_tags(value: str) -> ETags | None:
    """Parse an ``If-Match`` or ``If-None-Match`` field value.

    Returns Werkzeug's :class:`~werkzeug.datastructures.ETags`, or ``None`` when
    the value is neither ``*`` nor a list of entity-tags (RFC 9110 §13.1.1). The
    syntax is checked in linear time before Werkzeug parses the value.

    .. versionadded:: 0.1
    """
    stripped = value.strip(" \t")
    if stripped == "*":
        return ETags(star_tag=True)
    if _ENTITY_TAG_LIST.fullmatch(stripped) is None:
        return None
    tags = parse_etags(stripped)
    strong = tags.as_set()
    weak = tags.as_set(include_weak=True) - strong
    # Werkzeug reads an empty list element ("a", , "b") as the tag "" (3.0) and
    # the empty entity-tag "" as None, which would then match nothing.
    if "" in strong or None in strong or None in weak:
        tags = ETags(_empty_tag_fixed(strong), _empty_tag_fixed(weak))
    return tags


def _empty_tag_fixed(tags: t.Iterable[str | None]) -> set[str]:
    return {"" if tag is None else tag for tag in tags if tag != ""}


def parse_http_date(value: str) -> dt.datetime | None:
    """Parse an HTTP-date, returning ``None`` for anything else.

    RFC 9110 §13.1.3 and §13.1.4 say a recipient must ignore a date condition
    whose value is not a valid HTTP-date or has more than one member.

    .. versionadded:: 0.1
    """
    value = value.strip(" \t")
    match = _HTTP_DATE.fullmatch(value)
    if match is None:
        return None
    date = parse_date(value)
    if date is not None and match["short_year"] is not None:
        date = _rfc850_century(date)
    return date


def _rfc850_century(date: dt.datetime) -> dt.datetime:
    # RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in the
    # future is the most recent past year with those digits. email.utils puts
    # 69 to 99 in the 1900s and the rest in the 2000s instead.
    now = dt.datetime.now(dt.timezone.utc)
    year = now.year - now.year % 100 + date.year % 100
    if year > now.year + 50:
        year -= 100
    try:
        return date.replace(year=year)
    except ValueError:  # 29 February of a year that has none
        return date.replace(year=year, day=28)
