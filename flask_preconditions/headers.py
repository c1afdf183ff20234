"""Parsing of the precondition header fields (RFC 9110 §8.8.3, §5.6.7, §13.1).

Plain functions from field values to values, with no knowledge of Flask. Each
value is checked against an anchored, linear grammar before anything else reads
it, so hostile input costs time proportional to its length.
"""

from __future__ import annotations

import datetime as dt
import re

from werkzeug.datastructures import ETags

# RFC 9110 §8.8.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, and §5.6.1 lists
# that may contain empty elements. Werkzeug's parser has been quadratic on some
# malformed input (measured: 6 KB of '"a"x, ' took 70 ms, 96 KB 14 s), and
# parse_etags is deprecated in Werkzeug 3.2; so a value is checked against this
# linear, backtracking-free grammar, and the tags of a well-formed list are read
# in one pass with the same entity-tag pattern.
_ETAGC = r"[\x21\x23-\x7e\x80-\xff]"
_ENTITY_TAG = rf'(?:W/)?"{_ETAGC}*"'
_ENTITY_TAG_LIST = re.compile(
    rf"[ \t]*(?:,[ \t]*)*{_ENTITY_TAG}"
    rf"(?:[ \t]*,(?:[ \t]*,)*[ \t]*{_ENTITY_TAG})*"
    r"(?:[ \t]*,)*[ \t]*"
)
_ENTITY_TAG_PARTS = re.compile(rf'(?P<weak>W/)?"(?P<opaque>{_ETAGC}*)"')

# RFC 9110 §5.6.7: the three forms of HTTP-date, names case-sensitive. Werkzeug
# (through email.utils) also reads lists of dates, numeric zones and trailing
# text, which §13.1.3 and §13.1.4 say must be ignored, so a value must match one
# of these anchored, fixed-length patterns. Their fields are then converted
# here rather than by Werkzeug's parse_date, because email.utils reads the
# four-digit years 0000 to 0099 as 1969 to 2068, refuses the leap second the
# grammar allows, and puts a two-digit year in a century by the year alone,
# where §5.6.7 compares the whole timestamp with the clock.
_MONTHS = {
    "Jan": 1,
    "Feb": 2,
    "Mar": 3,
    "Apr": 4,
    "May": 5,
    "Jun": 6,
    "Jul": 7,
    "Aug": 8,
    "Sep": 9,
    "Oct": 10,
    "Nov": 11,
    "Dec": 12,
}
_DAY_NAME = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_DAY_NAME_LONG = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = f"(?P<month>{'|'.join(_MONTHS)})"
_TIME_OF_DAY = "(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
_IMF_FIXDATE = re.compile(
    rf"{_DAY_NAME}, (?P<day>[0-9]{{2}}) {_MONTH} (?P<year>[0-9]{{4}})"
    rf" {_TIME_OF_DAY} GMT"
)
_RFC850_DATE = re.compile(
    rf"{_DAY_NAME_LONG}, (?P<day>[0-9]{{2}})-{_MONTH}-(?P<year>[0-9]{{2}})"
    rf" {_TIME_OF_DAY} GMT"
)
_ASCTIME_DATE = re.compile(
    rf"{_DAY_NAME} {_MONTH} (?P<day>[0-9]{{2}}| [0-9]) {_TIME_OF_DAY}"
    r" (?P<year>[0-9]{4})"
)
_HTTP_DATE_FORMS = (_IMF_FIXDATE, _RFC850_DATE, _ASCTIME_DATE)

_UTC = dt.timezone.utc
# Year 0000 is valid syntax but before anything datetime can hold; it is read
# as the earliest instant datetime can hold (see parse_http_date).
_EARLIEST = dt.datetime.min.replace(tzinfo=_UTC)
_LATEST = dt.datetime.max.replace(microsecond=0, tzinfo=_UTC)


def parse_entity_tags(value: str) -> ETags | None:
    """Parse an ``If-Match`` or ``If-None-Match`` field value.

    Returns Werkzeug's :class:`~werkzeug.datastructures.ETags`, or ``None`` when
    the value is neither ``*`` nor a list of entity-tags (RFC 9110 §13.1.1).
    Empty list elements are skipped (§5.6.1), ``""`` is the empty entity-tag,
    and ``*`` counts only on its own. The value is read in time proportional to
    its length, whatever it holds.

    .. versionadded:: 0.1
    """
    stripped = value.strip(" \t")
    if stripped == "*":
        return ETags(star_tag=True)
    if _ENTITY_TAG_LIST.fullmatch(stripped) is None:
        return None
    strong: set[str] = set()
    weak: set[str] = set()
    # The list matched the grammar, so outside the tags there are only commas
    # and whitespace, and each match is exactly one entity-tag.
    for tag in _ENTITY_TAG_PARTS.finditer(stripped):
        (weak if tag["weak"] else strong).add(tag["opaque"])
    return ETags(strong, weak)


def parse_http_date(
    value: str, *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Parse an HTTP-date, returning ``None`` for anything else.

    RFC 9110 §13.1.3 and §13.1.4 say a recipient must ignore a date condition
    whose value is not a valid HTTP-date or has more than one member, so only
    one IMF-fixdate, rfc850-date or asctime-date (§5.6.7) is read, with optional
    surrounding whitespace. The result is an aware datetime in UTC:

    - Four-digit years are taken as written: ``0050`` is the year 50.
    - Year ``0000`` is a valid HTTP-date before anything :class:`~datetime.datetime`
      can hold. It is read as 0001-01-01T00:00:00Z, the earliest instant that
      can be held, so it precedes every later ``Last-Modified``: an
      ``If-Unmodified-Since`` in year 0 fails and an ``If-Modified-Since`` in
      year 0 is not a 304. Only a ``Last-Modified`` within that first second
      compares as if equal to it.
    - A two-digit rfc850-date year is the latest timestamp with those digits
      that is not more than 50 years after ``now``, the rule of §5.6.7 applied
      to the whole timestamp (at 2019-11-06, ``Tuesday, 31-Dec-69 23:59:59 GMT``
      is in 1969). A 29 February goes back to the latest century that has one.
    - Second ``60``, the leap second the grammar allows, is read as second 59
      of the same minute, which compares with every date a
      :class:`~datetime.datetime` can hold exactly as the leap second would.
    - A date that does not exist (31 February, hour 24, minute 60) is not a
      valid HTTP-date: ``None``.
    - The day name is checked for syntax but not against the date, as RFC 9110
      asks nothing more of a recipient.

    :param value: the field value.
    :param now: the current time, for the rfc850-date rule; a naive value is
        taken as UTC. The default is the time of the call.

    .. versionadded:: 0.1
    """
    value = value.strip(" \t")
    matches = (form.fullmatch(value) for form in _HTTP_DATE_FORMS)
    match = next((found for found in matches if found is not None), None)
    if match is None:
        return None
    year = int(match["year"])
    fields = (
        _MONTHS[match["month"]],
        int(match["day"]),
        int(match["hour"]),
        int(match["minute"]),
        int(match["second"]),
    )
    if match.re is _RFC850_DATE:
        return _rfc850_instant(year, fields, now)
    return _instant(year, *fields)


def _rfc850_instant(
    two_digit_year: int,
    fields: tuple[int, int, int, int, int],
    now: dt.datetime | None,
) -> dt.datetime | None:
    """Apply RFC 9110 §5.6.7: a timestamp that appears to be more than 50
    years in the future is in the most recent past year with those digits."""
    if now is None:
        now = dt.datetime.now(_UTC)
    elif now.tzinfo is not None:
        now = now.astimezone(_UTC)
    # Compared field by field, the limit needs no datetime of its own, so
    # neither 29 February nor a clock near year 9999 can make it fail.
    limit = (
        now.year + 50,
        now.month,
        now.day,
        now.hour,
        now.minute,
        now.second,
        now.microsecond,
    )
    year = limit[0] - limit[0] % 100 + two_digit_year
    if (year, *fields, 0) > limit:
        year -= 100
    # Three centuries in a row have no 29 February; the fourth has one.
    for _ in range(4):
        instant = _instant(year, *fields)
        if instant is not None:
            return instant
        year -= 100
    return None


def _instant(
    year: int, month: int, day: int, hour: int, minute: int, second: int
) -> dt.datetime | None:
    """The UTC instant of HTTP-date fields, or ``None`` if it does not exist."""
    if second == 60:
        second = 59
    # The Gregorian calendar repeats every 400 years: a year datetime cannot
    # hold is checked as its counterpart in a year it can.
    representable = dt.MINYEAR <= year <= dt.MAXYEAR
    try:
        instant = dt.datetime(
            year if representable else year % 400 + 400,
            month,
            day,
            hour,
            minute,
            second,
            tzinfo=_UTC,
        )
    except ValueError:
        return None
    if representable:
        return instant
    # Only year 0000, or an rfc850-date read at a clock near year 0 or 9999.
    return _EARLIEST if year < dt.MINYEAR else _LATEST
