"""The precondition field parsers of ``flask_preconditions.headers``, as plain calls."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import ETags

from flask_preconditions.headers import parse_entity_tags
from flask_preconditions.headers import parse_http_date
from helpers import MONTH_NAMES

UTC = dt.timezone.utc
#: The clock of the RFC 9110 §5.6.7 example in the issue.
NOW = dt.datetime(2019, 11, 6, tzinfo=UTC)
#: What year 0000, before anything datetime holds, is read as.
EARLIEST = dt.datetime.min.replace(tzinfo=UTC)

# -- a reference formatter, independent of the code under test and of strftime ----

DAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)


def _time_of_day(instant: dt.datetime) -> str:
    return f"{instant.hour:02d}:{instant.minute:02d}:{instant.second:02d}"


def imf_fixdate(instant: dt.datetime) -> str:
    """``Sun, 06 Nov 1994 08:49:37 GMT``"""
    d = instant.astimezone(UTC)
    day_name, month = DAY_NAMES[d.weekday()][:3], MONTH_NAMES[d.month - 1]
    return f"{day_name}, {d.day:02d} {month} {d.year:04d} {_time_of_day(d)} GMT"


def rfc850_date(instant: dt.datetime) -> str:
    """``Sunday, 06-Nov-94 08:49:37 GMT``"""
    d = instant.astimezone(UTC)
    day_name, month = DAY_NAMES[d.weekday()], MONTH_NAMES[d.month - 1]
    return f"{day_name}, {d.day:02d}-{month}-{d.year % 100:02d} {_time_of_day(d)} GMT"


def asctime_date(instant: dt.datetime) -> str:
    """``Sun Nov  6 08:49:37 1994``"""
    d = instant.astimezone(UTC)
    day_name, month = DAY_NAMES[d.weekday()][:3], MONTH_NAMES[d.month - 1]
    return f"{day_name} {month} {d.day:2d} {_time_of_day(d)} {d.year:04d}"


def days_in_month(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def latest_rfc850_reading(instant: dt.datetime, now: dt.datetime) -> dt.datetime:
    """RFC 9110 §5.6.7 by brute force: of the timestamps that share the
    rfc850-date's fields, the latest not more than 50 years after ``now``."""
    limit = now.replace(year=now.year + 50)
    readings = []
    for year in range(instant.year % 100, dt.MAXYEAR + 1, 100):
        if year < dt.MINYEAR:
            continue
        try:
            readings.append(instant.replace(year=year))
        except ValueError:  # 29 February in a year without one
            continue
    return max(reading for reading in readings if reading <= limit)


# -- strategies ----------------------------------------------------------------------

# Whole seconds in UTC over the whole range of datetime, and in other zones far
# enough from the ends that they can be written in UTC.
INSTANTS = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),
        max_value=dt.datetime(9999, 12, 31, 23, 59, 59),
        timezones=st.just(UTC),
    ),
    st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.builds(
            lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)),
            st.integers(-1439, 1439),
        ),
    ),
).map(lambda instant: instant.replace(microsecond=0))
# Clocks at which every rfc850-date has a reading and whose 50 years ahead
# datetime can hold; clocks on 29 February and near the ends have their own tests.
CLOCKS = st.datetimes(
    min_value=dt.datetime(400, 1, 1),
    max_value=dt.datetime(9949, 12, 31, 23, 59, 59, 999_999),
    timezones=st.just(UTC),
).filter(lambda now: (now.month, now.day) != (2, 29))
ANY_CLOCK = st.datetimes(timezones=st.just(UTC))
LATIN_1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=200)
OPAQUE_TAGS = st.text(
    st.characters(codec="latin-1", min_codepoint=0x21, exclude_characters='"\x7f'),
    max_size=8,
)


def _two_digits(valid_maximum: int) -> st.SearchStrategy[int]:
    # Mostly around the valid range, sometimes anywhere two digits reach.
    return st.one_of(st.integers(0, valid_maximum + 1), st.integers(0, 99))


# -- entity-tags ---------------------------------------------------------------------


def test_parse_entity_tags_reads_star() -> None:
    tags = parse_entity_tags(" * ")
    assert tags is not None and tags.star_tag


def test_parse_entity_tags_separates_weak_and_strong() -> None:
    tags = parse_entity_tags('"a", W/"b"')
    assert tags is not None
    assert tags.as_set() == {"a"}
    assert tags.contains_weak("b") and not tags.contains("b")


def test_parse_entity_tags_drops_empty_list_elements() -> None:
    tags = parse_entity_tags('"a", , "b"')
    assert tags is not None
    assert tags.as_set(include_weak=True) == {"a", "b"}


def test_parse_entity_tags_keeps_an_explicit_empty_tag() -> None:
    tags = parse_entity_tags('"", "a"')
    assert tags is not None
    assert "" in tags.as_set()


def test_parse_entity_tags_keeps_an_explicit_empty_weak_tag() -> None:
    tags = parse_entity_tags('W/""')
    assert tags is not None
    assert tags.is_weak("") and not tags.contains("")


def test_parse_entity_tags_reads_w_slash_inside_a_tag_as_opaque() -> None:
    tags = parse_entity_tags('"W/", W/"W/"')
    assert tags is not None
    assert tags.is_strong("W/") and tags.is_weak("W/")


def test_parse_entity_tags_reads_obs_text_inside_a_tag() -> None:
    tags = parse_entity_tags('"caf\xe9"')
    assert tags is not None and tags.as_set() == {"caf\xe9"}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("abc", id="unquoted"),
        pytest.param('"abc', id="unterminated"),
        pytest.param('"a"b"', id="quote-inside"),
        pytest.param('w/"abc"', id="lower-case-weak-prefix"),
        pytest.param('W/ "abc"', id="space-after-weak-prefix"),
        pytest.param('"a" "b"', id="missing-comma"),
        pytest.param('"a b"', id="space-inside"),
        pytest.param(",", id="only-commas"),
        pytest.param('*, "a"', id="star-in-a-list"),
        pytest.param("W/*", id="weak-star"),
        pytest.param('"a", W/', id="dangling-weak-prefix"),
        pytest.param('"\x7f"', id="control-character"),
    ],
)
def test_parse_entity_tags_rejects_invalid_syntax(value: str) -> None:
    assert parse_entity_tags(value) is None


_READ_IN_A_CHILD = """\
import sys
from flask_preconditions.headers import parse_entity_tags
tags = parse_entity_tags(sys.stdin.read())
print("malformed" if tags is None else len(tags.as_set(include_weak=True)))
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Werkzeug's parser takes minutes on this (14 s for 96 KB).
        pytest.param('"a"x, ' * 100_000, "malformed", id="garbage-after-each-tag"),
        pytest.param(
            ", ".join(f'"{i}"' for i in range(100_000)), "100000", id="many-tags"
        ),
        pytest.param(
            ", ".join(f'W/"{i}"' for i in range(100_000)) + ", x",
            "malformed",
            id="garbage-after-many-tags",
        ),
        pytest.param(
            '"a"' + " ," * 100_000 + ' "', "malformed", id="many-empty-elements"
        ),
        pytest.param(" " * 100_000 + '"a"' + " " * 100_000, "1", id="whitespace"),
        pytest.param('"' + "a" * 100_000, "malformed", id="unterminated-long-tag"),
    ],
)
def test_hostile_entity_tag_lists_are_read_in_linear_time(
    value: str, expected: str
) -> None:
    # Linear reading takes milliseconds; anything quadratic takes minutes on
    # these. A child process can be stopped at the deadline, whereas a regular
    # expression running in this process cannot be interrupted.
    child = subprocess.run(
        [sys.executable, "-c", _READ_IN_A_CHILD],
        input=value,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert child.stdout.strip() == expected


@settings(max_examples=300, deadline=None)
@given(
    leading=st.sampled_from(["", " ", "\t", ", ", " ,, "]),
    elements=st.lists(
        st.tuples(
            st.booleans(),
            OPAQUE_TAGS,
            st.sampled_from([",", ", ", " ,", "\t,\t", ", ,", ",,", " , , "]),
        ),
        min_size=1,
        max_size=20,
    ),
    trailing=st.sampled_from(["", " ", ",", " , ", ",,\t"]),
)
def test_parse_entity_tags_reads_every_tag_of_a_list(
    leading: str, elements: list[tuple[bool, str, str]], trailing: str
) -> None:
    value = leading
    for index, (weak, opaque, separator) in enumerate(elements):
        if index:
            value += separator
        value += ("W/" if weak else "") + f'"{opaque}"'
    value += trailing
    tags = parse_entity_tags(value)
    assert tags is not None and not tags.star_tag
    strong = {opaque for weak, opaque, _ in elements if not weak}
    weak_only = {opaque for weak, opaque, _ in elements if weak}
    assert tags.as_set() == strong
    assert tags.as_set(include_weak=True) == strong | weak_only
    assert all(tags.is_weak(opaque) for opaque in weak_only)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(), LATIN_1))
def test_parse_entity_tags_never_raises(value: str) -> None:
    assert parse_entity_tags(value) is None or isinstance(
        parse_entity_tags(value), ETags
    )


# -- HTTP-dates: what is read ------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # rfc850-date
        "Sun Nov  6 08:49:37 1994",  # asctime-date
        "  Sun, 06 Nov 1994 08:49:37 GMT\t",  # surrounding whitespace
    ],
    ids=["imf-fixdate", "rfc850", "asctime", "ows"],
)
def test_5_6_7_each_http_date_form_is_read(value: str) -> None:
    assert parse_http_date(value) == dt.datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)


def test_parse_http_date_reads_an_imf_fixdate() -> None:
    date = parse_http_date("Mon, 01 Jan 2024 12:00:00 GMT")
    assert date == dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert date is not None and date.tzinfo is UTC


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


LATEST = _utc(9999, 12, 31, 23, 59, 59)
LEAP_DAY_2024 = _utc(2024, 2, 29)
LEAP_SECOND_2016 = _utc(2016, 12, 31, 23, 59, 59)


@pytest.mark.parametrize(
    ("value", "now", "expected"),
    [
        # §5.6.7: a four-digit year is the year written, not email.utils' 1969-2068.
        ("Sat, 01 Jan 0050 00:00:00 GMT", NOW, _utc(50, 1, 1)),
        ("Sat Jan  1 00:00:00 0050", NOW, _utc(50, 1, 1)),
        ("Thu, 31 Dec 0099 23:59:59 GMT", NOW, _utc(99, 12, 31, 23, 59, 59)),
        ("Mon, 01 Jan 0001 00:00:00 GMT", NOW, _utc(1, 1, 1)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", NOW, LATEST),
        ("Fri Dec 31 23:59:59 9999", NOW, LATEST),
        # Year 0000 is before everything datetime holds: its earliest instant.
        ("Sat, 01 Jan 0000 00:00:00 GMT", NOW, EARLIEST),
        ("Sun, 31 Dec 0000 23:59:59 GMT", NOW, EARLIEST),
        ("Tue, 29 Feb 0000 12:00:00 GMT", NOW, EARLIEST),
        ("Sat Jan  1 00:00:00 0000", NOW, EARLIEST),
        # §5.6.7: the 50-year rule applies to the whole timestamp, not the year.
        ("Tuesday, 31-Dec-69 23:59:59 GMT", NOW, _utc(1969, 12, 31, 23, 59, 59)),
        ("Tuesday, 05-Nov-69 23:59:59 GMT", NOW, _utc(2069, 11, 5, 23, 59, 59)),
        ("Wednesday, 06-Nov-69 00:00:00 GMT", NOW, _utc(2069, 11, 6)),
        ("Thursday, 06-Nov-69 00:00:01 GMT", NOW, _utc(1969, 11, 6, 0, 0, 1)),
        ("Wednesday, 06-Nov-19 00:00:00 GMT", NOW, _utc(2019, 11, 6)),
        ("Thursday, 01-Jan-70 00:00:00 GMT", NOW, _utc(1970, 1, 1)),
        ("Thursday, 01-Jan-50 00:00:00 GMT", _utc(2150, 1, 1), _utc(2150, 1, 1)),
        ("Wednesday, 01-Jan-10 00:00:00 GMT", _utc(2080, 1, 1), _utc(2110, 1, 1)),
        # A 29 February goes back to the latest century that has one.
        ("Tuesday, 29-Feb-00 00:00:00 GMT", _utc(2150, 1, 1), _utc(2000, 2, 29)),
        ("Tuesday, 29-Feb-00 00:00:00 GMT", _utc(2350, 1, 1), _utc(2000, 2, 29)),
        ("Tuesday, 29-Feb-00 00:00:00 GMT", _utc(2360, 1, 1), _utc(2400, 2, 29)),
        # On 29 February, 50 years ahead falls between 28 February and 1 March.
        (
            "Wednesday, 28-Feb-74 23:59:59 GMT",
            LEAP_DAY_2024,
            _utc(2074, 2, 28, 23, 59, 59),
        ),
        ("Friday, 01-Mar-74 00:00:00 GMT", LEAP_DAY_2024, _utc(1974, 3, 1)),
        # At clocks near the ends of datetime's range, the ends stand for what
        # lies beyond them.
        ("Friday, 01-Jan-99 00:00:00 GMT", _utc(10, 1, 1), EARLIEST),
        ("Monday, 01-Jan-20 00:00:00 GMT", _utc(9999, 1, 1), LATEST),
        # §5.6.7's time-of-day allows the leap second 60: read as second 59.
        ("Sat, 31 Dec 2016 23:59:60 GMT", NOW, LEAP_SECOND_2016),
        ("Saturday, 31-Dec-16 23:59:60 GMT", NOW, LEAP_SECOND_2016),
        ("Sat Dec 31 23:59:60 2016", NOW, LEAP_SECOND_2016),
        # The day name is syntax only: 6 November 1994 was a Sunday.
        ("Fri, 06 Nov 1994 08:49:37 GMT", NOW, _utc(1994, 11, 6, 8, 49, 37)),
        ("Monday, 06-Nov-94 08:49:37 GMT", NOW, _utc(1994, 11, 6, 8, 49, 37)),
    ],
)
def test_5_6_7_named_dates(value: str, now: dt.datetime, expected: dt.datetime) -> None:
    assert parse_http_date(value, now=now) == expected


def test_5_6_7_naive_clock_is_taken_as_utc() -> None:
    value = "Tuesday, 31-Dec-69 23:59:59 GMT"
    naive = NOW.replace(tzinfo=None)
    assert parse_http_date(value, now=naive) == parse_http_date(value, now=NOW)


def test_5_6_7_clock_in_another_zone_is_compared_in_utc() -> None:
    # 2019-11-06T00:00+05:00 is 2019-11-05T19:00Z, so 20:00 on 5 November 2069
    # is more than 50 years ahead.
    now = dt.datetime(2019, 11, 6, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    value = "Tuesday, 05-Nov-69 20:00:00 GMT"
    assert parse_http_date(value, now=now) == _utc(1969, 11, 5, 20)


def test_5_6_7_a_two_digit_year_is_never_more_than_50_years_ahead() -> None:
    # With the default clock, the time of the call.
    this_year = dt.datetime.now(UTC).year
    ahead = (this_year + 50) % 100  # exactly 50 years ahead: kept in the future
    beyond = (this_year + 51) % 100  # 51 years ahead: the past century
    read_ahead = parse_http_date(f"Monday, 01-Jan-{ahead:02d} 00:00:00 GMT")
    read_beyond = parse_http_date(f"Monday, 01-Jan-{beyond:02d} 00:00:00 GMT")
    assert read_ahead is not None and read_beyond is not None
    assert read_ahead.year == this_year + 50
    assert read_beyond.year == this_year + 51 - 100


# -- HTTP-dates: what is ignored -----------------------------------------------------


def test_parse_http_date_ignores_a_list_of_dates() -> None:
    value = "Mon, 01 Jan 2024 12:00:00 GMT, Mon, 01 Jan 2024 12:00:00 GMT"
    assert parse_http_date(value) is None


def test_parse_http_date_ignores_a_list_of_asctime_dates() -> None:
    value = "Mon Jan  1 12:00:00 2024, Mon Jan  1 12:00:00 2024"
    assert parse_http_date(value) is None


def test_parse_http_date_returns_none_for_garbage() -> None:
    assert parse_http_date("soon") is None


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "Sun, 06 Nov 1994 08:49:37 +0100",
        "Sun, 06 Nov 1994 08:49:37",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "1994-11-06T08:49:37Z",
        " " * 8000 + "x",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 12345 08:49:37 GMT",
    ],
    ids=[
        "trailing",
        "zone",
        "no-gmt",
        "lower-day",
        "one-digit-day",
        "iso",
        "spaces",
        "imf-two-digit-year",
        "rfc850-short-day-name",
        "imf-long-day-name",
        "asctime-unpadded-day",
        "asctime-two-digit-year",
        "asctime-with-gmt",
        "lower-month",
        "lower-gmt",
        "one-digit-hour",
        "five-digit-year",
    ],
)
def test_13_1_4_what_is_not_an_http_date_is_ignored(value: str) -> None:
    assert parse_http_date(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "Wed, 31 Feb 2016 00:00:00 GMT",
        "Sun, 29 Feb 2015 00:00:00 GMT",
        "Fri, 29 Feb 2100 00:00:00 GMT",
        "Mon, 00 Jan 2024 00:00:00 GMT",
        "Thu, 32 Jan 2024 00:00:00 GMT",
        "Mon, 01 Jan 2024 24:00:00 GMT",
        "Mon, 01 Jan 2024 23:60:00 GMT",
        "Mon, 01 Jan 2024 23:59:61 GMT",
        "Wed, 30 Feb 0000 00:00:00 GMT",
        "Thursday, 31-Apr-24 00:00:00 GMT",
        "Monday, 29-Feb-99 00:00:00 GMT",
        "Fri Feb 30 00:00:00 2024",
        "Mon Jan  0 00:00:00 2024",
    ],
    ids=[
        "31-february",
        "29-february-of-a-common-year",
        "29-february-of-2100",
        "day-zero",
        "day-32",
        "hour-24",
        "minute-60",
        "second-61",
        "30-february-of-year-0",
        "rfc850-31-april",
        "rfc850-29-february-of-no-leap-year",
        "asctime-30-february",
        "asctime-day-zero",
    ],
)
def test_13_1_3_a_date_that_does_not_exist_is_ignored(value: str) -> None:
    assert parse_http_date(value, now=NOW) is None


# -- HTTP-dates: properties against the reference formatter ---------------------------


@settings(max_examples=300, deadline=None)
@given(instant=INSTANTS, now=ANY_CLOCK)
def test_an_imf_fixdate_is_read_back_as_its_instant(
    instant: dt.datetime, now: dt.datetime
) -> None:
    date = parse_http_date(imf_fixdate(instant), now=now)
    assert date == instant
    assert date is not None and date.utcoffset() == dt.timedelta(0)


@settings(max_examples=300, deadline=None)
@given(instant=INSTANTS, now=ANY_CLOCK)
def test_an_asctime_date_is_read_back_as_its_instant(
    instant: dt.datetime, now: dt.datetime
) -> None:
    date = parse_http_date(asctime_date(instant), now=now)
    assert date == instant
    assert date is not None and date.utcoffset() == dt.timedelta(0)


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(
        # The hundred years that end 50 years after NOW.
        min_value=dt.datetime(1969, 11, 6, 0, 0, 1),
        max_value=dt.datetime(2069, 11, 6),
        timezones=st.just(UTC),
    ).map(lambda instant: instant.replace(microsecond=0))
)
def test_an_rfc850_date_within_50_years_is_read_back_as_its_instant(
    instant: dt.datetime,
) -> None:
    assert parse_http_date(rfc850_date(instant), now=NOW) == instant


@settings(max_examples=300, deadline=None)
@given(instant=INSTANTS, now=CLOCKS)
def test_an_rfc850_date_is_the_latest_reading_not_over_50_years_ahead(
    instant: dt.datetime, now: dt.datetime
) -> None:
    instant = instant.astimezone(UTC)
    expected = latest_rfc850_reading(instant, now)
    assert parse_http_date(rfc850_date(instant), now=now) == expected


@settings(max_examples=300, deadline=None)
@given(instant=INSTANTS, now=ANY_CLOCK)
def test_an_rfc850_date_is_read_at_any_clock(
    instant: dt.datetime, now: dt.datetime
) -> None:
    date = parse_http_date(rfc850_date(instant), now=now)
    assert date is not None
    assert EARLIEST <= date <= dt.datetime.max.replace(tzinfo=UTC)


@settings(max_examples=500, deadline=None)
@given(
    form=st.sampled_from(["imf-fixdate", "asctime"]),
    year=st.integers(0, 9999),
    month=st.integers(1, 12),
    day=_two_digits(31),
    hour=_two_digits(23),
    minute=_two_digits(59),
    second=_two_digits(60),
)
def test_fields_are_read_exactly_when_they_name_an_instant(
    form: str, year: int, month: int, day: int, hour: int, minute: int, second: int
) -> None:
    time_of_day = f"{hour:02d}:{minute:02d}:{second:02d}"
    month_name = MONTH_NAMES[month - 1]
    if form == "imf-fixdate":
        value = f"Mon, {day:02d} {month_name} {year:04d} {time_of_day} GMT"
    else:
        value = f"Mon {month_name} {day:2d} {time_of_day} {year:04d}"
    exists = (
        1 <= day <= days_in_month(year, month)
        and hour <= 23
        and minute <= 59
        and second <= 60
    )
    date = parse_http_date(value)
    if not exists:
        assert date is None
    elif year == 0:
        assert date == EARLIEST
    else:
        assert date == _utc(year, month, day, hour, minute, min(second, 59))


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(), LATIN_1), now=st.one_of(st.none(), ANY_CLOCK))
def test_parse_http_date_never_raises(value: str, now: dt.datetime | None) -> None:
    date = parse_http_date(value, now=now)
    assert date is None or date.utcoffset() == dt.timedelta(0)
