"""RFC 9110 §13 evaluation as plain calls: no Flask, no request, no app."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import typing as t

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from flask_preconditions import conditions
from flask_preconditions.conditions import Decision
from flask_preconditions.conditions import evaluate
from flask_preconditions.conditions import Outcome
from flask_preconditions.conditions import Validators
from flask_preconditions.decisions import Cause
from helpers import MONTH_NAMES

UTC = dt.timezone.utc
LAST_MODIFIED = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
BEFORE = "Mon, 01 Jan 2024 11:00:00 GMT"
AT = "Mon, 01 Jan 2024 12:00:00 GMT"
AFTER = "Mon, 01 Jan 2024 13:00:00 GMT"
BEFORE_RFC850 = "Monday, 01-Jan-24 11:00:00 GMT"
BEFORE_ASCTIME = "Mon Jan  1 11:00:00 2024"
# 1 January 2024 was a Monday; the day name is not checked against the date.
BEFORE_ON_FRIDAY = "Fri, 01 Jan 2024 11:00:00 GMT"
TWO_DATES = f"{BEFORE}, {BEFORE}"
NOT_A_DATE = "yesterday"
# Four-digit years are taken as written (RFC 9110 §5.6.7), not as 1969-2068.
YEAR_0050 = "Sat, 01 Jan 0050 00:00:00 GMT"
YEAR_0050_ASCTIME = "Sat Jan  1 00:00:00 0050"
# Valid syntax before anything datetime holds: before every Last-Modified.
YEAR_0000 = "Sat, 01 Jan 0000 00:00:00 GMT"
YEAR_9999 = "Fri, 31 Dec 9999 23:59:59 GMT"
# Dates that do not exist; read leniently, both would be after LAST_MODIFIED.
FEBRUARY_31 = "Sat, 31 Feb 2024 12:00:00 GMT"
HOUR_24 = "Mon, 01 Jan 2024 24:00:00 GMT"
# The leap second that ended 2016, which the HTTP-date grammar allows.
LEAP_SECOND = "Sat, 31 Dec 2016 23:59:60 GMT"
OVERLONG_TAG = '"' + "a" * 9000 + '"'
OVERLONG_DATE = AT + " " * 9000

CURRENT = Validators(etag="abc", weak=False, last_modified=LAST_MODIFIED)
WEAK = Validators(etag="abc", weak=True, last_modified=LAST_MODIFIED)
ETAG_ONLY = Validators(etag="abc")
DATE_ONLY = Validators(etag=None, last_modified=LAST_MODIFIED)
EMPTY_TAG = Validators(etag="")
SUBSECOND = Validators(
    etag="abc", last_modified=LAST_MODIFIED.replace(microsecond=500_000)
)
END_OF_2016 = Validators(
    last_modified=dt.datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)
)
START_OF_2017 = Validators(last_modified=dt.datetime(2017, 1, 1, tzinfo=UTC))

PROCEED = Outcome.PROCEED
NOT_MODIFIED = Outcome.NOT_MODIFIED
NOT_FOUND = Outcome.NOT_FOUND
FAILED = Outcome.PRECONDITION_FAILED
REQUIRED = Outcome.PRECONDITION_REQUIRED
TOO_LARGE = Outcome.HEADER_TOO_LARGE

# One row per case: (method, request headers, current validators or None for an
# absent resource, expected outcome, the rule it checks).
RFC_TABLE: list[tuple[str, dict[str, str], Validators | None, Outcome, str]] = [
    # §13.1.1 If-Match: strong comparison, lists, "*".
    ("PUT", {"If-Match": '"abc"'}, CURRENT, PROCEED, "13.1.1 strong match"),
    ("PUT", {"If-Match": '"xyz"'}, CURRENT, FAILED, "13.1.1 strong mismatch"),
    ("PUT", {"If-Match": '"x", "abc", "y"'}, CURRENT, PROCEED, "13.1.1 list has it"),
    ("PUT", {"If-Match": '"x", "y"'}, CURRENT, FAILED, "13.1.1 list lacks it"),
    ("PUT", {"If-Match": 'W/"abc"'}, CURRENT, FAILED, "13.1.1 weak never matches"),
    ("PUT", {"If-Match": '"abc"'}, WEAK, FAILED, "13.1.1 weak current: 412"),
    ("PUT", {"If-Match": "*"}, CURRENT, PROCEED, "13.1.1 star, existing"),
    ("DELETE", {"If-Match": "*"}, WEAK, PROCEED, "13.1.1 star, weak existing"),
    ("PUT", {"If-Match": "*"}, None, FAILED, "13.1.1 star, absent"),
    ("PUT", {"If-Match": '"abc"'}, None, FAILED, "13.1.1 tag, absent"),
    ("PUT", {"If-Match": '"abc"'}, DATE_ONLY, FAILED, "13.1.1 no current tag"),
    ("PUT", {"If-Match": "abc"}, CURRENT, FAILED, "13.1.1 unquoted is false"),
    ("GET", {"If-Match": '"xyz"'}, CURRENT, FAILED, "13.1.1 GET mismatch"),
    ("GET", {"If-Match": '"abc"'}, CURRENT, PROCEED, "13.1.1 GET match"),
    ("PATCH", {"If-Match": ' , "abc" ,, '}, CURRENT, PROCEED, "5.6.1 empty elements"),
    ("PUT", {"If-Match": '"ABC"'}, CURRENT, FAILED, "13.1.1 case-sensitive"),
    ("PUT", {"If-Match": '"x", ""'}, EMPTY_TAG, PROCEED, "8.8.3 empty opaque tag"),
    # §13.1.4 If-Unmodified-Since.
    ("PUT", {"If-Unmodified-Since": BEFORE}, CURRENT, FAILED, "13.1.4 modified: 412"),
    ("PUT", {"If-Unmodified-Since": AT}, CURRENT, PROCEED, "13.1.4 equal holds"),
    ("PUT", {"If-Unmodified-Since": AFTER}, CURRENT, PROCEED, "13.1.4 after holds"),
    ("PUT", {"If-Unmodified-Since": AT}, SUBSECOND, PROCEED, "5.6.7 seconds: holds"),
    ("GET", {"If-Unmodified-Since": BEFORE}, CURRENT, FAILED, "13.1.4 GET: 412"),
    ("GET", {"If-Unmodified-Since": NOT_A_DATE}, CURRENT, PROCEED, "13.1.4 junk: GET"),
    ("PUT", {"If-Unmodified-Since": NOT_A_DATE}, CURRENT, REQUIRED, "13.1.4 junk: 428"),
    ("PUT", {"If-Unmodified-Since": TWO_DATES}, CURRENT, REQUIRED, "13.1.4 list: 428"),
    ("PUT", {"If-Unmodified-Since": BEFORE}, ETAG_ONLY, REQUIRED, "13.1.4 undated"),
    ("PUT", {"If-Unmodified-Since": BEFORE_RFC850}, CURRENT, FAILED, "5.6.7 rfc850"),
    ("PUT", {"If-Unmodified-Since": BEFORE_ASCTIME}, CURRENT, FAILED, "5.6.7 asctime"),
    # §13.1.2 If-None-Match: weak comparison.
    ("GET", {"If-None-Match": '"abc"'}, CURRENT, NOT_MODIFIED, "13.1.2 match, GET"),
    ("HEAD", {"If-None-Match": '"abc"'}, CURRENT, NOT_MODIFIED, "13.1.2 match, HEAD"),
    ("GET", {"If-None-Match": 'W/"abc"'}, CURRENT, NOT_MODIFIED, "13.1.2 weak sent"),
    ("GET", {"If-None-Match": '"abc"'}, WEAK, NOT_MODIFIED, "13.1.2 weak current"),
    ("GET", {"If-None-Match": '"x", W/"abc"'}, CURRENT, NOT_MODIFIED, "13.1.2 list"),
    ("GET", {"If-None-Match": '"x", "y"'}, CURRENT, PROCEED, "13.1.2 mismatch"),
    ("GET", {"If-None-Match": "*"}, CURRENT, NOT_MODIFIED, "13.1.2 star, existing"),
    ("GET", {"If-None-Match": "abc"}, CURRENT, PROCEED, "13.1.2 malformed ignored"),
    ("PUT", {"If-None-Match": '"abc"'}, CURRENT, FAILED, "13.1.2 match, PUT"),
    ("POST", {"If-None-Match": '"abc"'}, CURRENT, FAILED, "13.1.2 match, POST"),
    ("PUT", {"If-None-Match": "*"}, CURRENT, FAILED, "13.1.2 star, PUT existing"),
    ("PUT", {"If-None-Match": "*"}, None, PROCEED, "13.1.2 star creates"),
    ("PUT", {"If-None-Match": " * "}, None, PROCEED, "13.1.2 star with spaces"),
    ("PUT", {"If-None-Match": '"x"'}, CURRENT, REQUIRED, "13.1.2 mismatch, PUT"),
    ("PUT", {"If-None-Match": '"x"'}, None, REQUIRED, "13.1.2 create needs star"),
    # §13.1.3 If-Modified-Since: GET and HEAD only.
    ("GET", {"If-Modified-Since": AT}, CURRENT, NOT_MODIFIED, "13.1.3 equal"),
    ("HEAD", {"If-Modified-Since": AFTER}, CURRENT, NOT_MODIFIED, "13.1.3 after"),
    ("GET", {"If-Modified-Since": BEFORE}, CURRENT, PROCEED, "13.1.3 modified since"),
    ("GET", {"If-Modified-Since": AT}, SUBSECOND, NOT_MODIFIED, "5.6.7 seconds: 304"),
    ("GET", {"If-Modified-Since": "not a date"}, CURRENT, PROCEED, "13.1.3 junk"),
    ("GET", {"If-Modified-Since": AFTER}, ETAG_ONLY, PROCEED, "13.1.3 undated"),
    ("POST", {"If-Modified-Since": AFTER}, CURRENT, PROCEED, "13.1.3 not for POST"),
    ("PUT", {"If-Modified-Since": AFTER}, CURRENT, REQUIRED, "13.1.3 not for PUT"),
    ("GET", {"If-Modified-Since": AT}, DATE_ONLY, NOT_MODIFIED, "13.1.3 date only"),
    # §5.6.7 HTTP-dates at the edges: what they say and what is ignored.
    ("PUT", {"If-Unmodified-Since": YEAR_0050}, CURRENT, FAILED, "5.6.7 year 50: 412"),
    ("GET", {"If-Modified-Since": YEAR_0050}, CURRENT, PROCEED, "5.6.7 year 50: GET"),
    (
        "DELETE",
        {"If-Unmodified-Since": YEAR_0050_ASCTIME},
        DATE_ONLY,
        FAILED,
        "5.6.7 asctime year 50: 412",
    ),
    (
        "HEAD",
        {"If-Modified-Since": YEAR_0050_ASCTIME},
        CURRENT,
        PROCEED,
        "5.6.7 asctime year 50: HEAD",
    ),
    ("PUT", {"If-Unmodified-Since": YEAR_0000}, CURRENT, FAILED, "5.6.7 year 0: 412"),
    ("GET", {"If-Unmodified-Since": YEAR_0000}, DATE_ONLY, FAILED, "5.6.7 year 0 GET"),
    ("PUT", {"If-Unmodified-Since": YEAR_0000}, ETAG_ONLY, REQUIRED, "13.1.4 year 0"),
    ("GET", {"If-Modified-Since": YEAR_0000}, CURRENT, PROCEED, "5.6.7 year 0: GET"),
    ("PUT", {"If-Unmodified-Since": YEAR_9999}, CURRENT, PROCEED, "5.6.7 9999 holds"),
    ("GET", {"If-Modified-Since": YEAR_9999}, CURRENT, NOT_MODIFIED, "5.6.7 9999: 304"),
    ("PUT", {"If-Unmodified-Since": FEBRUARY_31}, CURRENT, REQUIRED, "13.1.4 31 Feb"),
    ("GET", {"If-Modified-Since": FEBRUARY_31}, CURRENT, PROCEED, "13.1.3 31 Feb"),
    ("GET", {"If-Modified-Since": HOUR_24}, CURRENT, PROCEED, "13.1.3 hour 24"),
    (
        "PUT",
        {"If-Unmodified-Since": LEAP_SECOND},
        END_OF_2016,
        PROCEED,
        "5.6.7 leap second is after second 59",
    ),
    (
        "PUT",
        {"If-Unmodified-Since": LEAP_SECOND},
        START_OF_2017,
        FAILED,
        "5.6.7 leap second is before the next minute",
    ),
    (
        "GET",
        {"If-Modified-Since": LEAP_SECOND},
        END_OF_2016,
        NOT_MODIFIED,
        "5.6.7 leap second: not modified since second 59",
    ),
    (
        "GET",
        {"If-Modified-Since": LEAP_SECOND},
        START_OF_2017,
        PROCEED,
        "5.6.7 leap second: modified in the next minute",
    ),
    (
        "PUT",
        {"If-Unmodified-Since": BEFORE_ON_FRIDAY},
        CURRENT,
        FAILED,
        "5.6.7 the day name is syntax only",
    ),
    (
        "PUT",
        {"If-Unmodified-Since": YEAR_9999 + " junk"},
        CURRENT,
        REQUIRED,
        "13.1.4 trailing text is not a date and does not satisfy 428",
    ),
    # §13.2.2 order of evaluation.
    (
        "GET",
        {"If-Match": '"x"', "If-None-Match": '"abc"'},
        CURRENT,
        FAILED,
        "13.2.2 step 1 fails before step 3 matches",
    ),
    (
        "GET",
        {"If-Match": '"abc"', "If-None-Match": '"abc"'},
        CURRENT,
        NOT_MODIFIED,
        "13.2.2 step 1 holds, step 3 matches on GET",
    ),
    (
        "PUT",
        {"If-Match": '"abc"', "If-None-Match": '"abc"'},
        CURRENT,
        FAILED,
        "13.2.2 step 1 holds, step 3 matches on PUT",
    ),
    (
        "PUT",
        {"If-Match": '"abc"', "If-Unmodified-Since": BEFORE},
        CURRENT,
        PROCEED,
        "13.2.2 step 2 skipped when If-Match is present",
    ),
    (
        "PUT",
        {"If-Match": "*", "If-Unmodified-Since": BEFORE},
        CURRENT,
        PROCEED,
        "13.2.2 step 2 skipped when If-Match is *",
    ),
    (
        "GET",
        {"If-Unmodified-Since": BEFORE, "If-None-Match": '"abc"'},
        CURRENT,
        FAILED,
        "13.2.2 step 2 fails before step 3 matches",
    ),
    (
        "GET",
        {"If-None-Match": '"x"', "If-Modified-Since": AFTER},
        CURRENT,
        PROCEED,
        "13.2.2 step 4 skipped when If-None-Match is present",
    ),
    (
        "GET",
        {"If-None-Match": "abc", "If-Modified-Since": AFTER},
        CURRENT,
        PROCEED,
        "13.2.2 step 4 skipped when If-None-Match is malformed",
    ),
    (
        "GET",
        {"If-Unmodified-Since": AFTER, "If-Modified-Since": AT},
        CURRENT,
        NOT_MODIFIED,
        "13.2.2 step 2 holds, step 4 gives 304",
    ),
    # §13.2.1 absent resources and methods that ignore preconditions.
    ("GET", {}, None, NOT_FOUND, "13.2.1 GET absent, none"),
    ("GET", {"If-Match": '"abc"'}, None, NOT_FOUND, "13.2.1 GET absent, If-Match"),
    ("HEAD", {"If-None-Match": "*"}, None, NOT_FOUND, "13.2.1 HEAD absent"),
    ("DELETE", {"If-Match": '"abc"'}, None, NOT_FOUND, "13.2.1 DELETE absent"),
    ("PATCH", {"If-Match": '"abc"'}, None, NOT_FOUND, "13.2.1 PATCH absent"),
    ("DELETE", {}, None, NOT_FOUND, "13.2.1 404 before 428"),
    ("OPTIONS", {"If-Match": '"x"'}, CURRENT, PROCEED, "13.2.1 OPTIONS ignores"),
    ("CONNECT", {"If-None-Match": '"abc"'}, CURRENT, PROCEED, "13.2.1 CONNECT"),
    ("TRACE", {"If-Unmodified-Since": BEFORE}, CURRENT, PROCEED, "13.2.1 TRACE"),
    ("OPTIONS", {}, None, PROCEED, "13.2.1 OPTIONS absent"),
    # RFC 6585 §3: unsafe requests must be conditional.
    ("PUT", {}, CURRENT, REQUIRED, "6585-3 PUT"),
    ("PATCH", {}, CURRENT, REQUIRED, "6585-3 PATCH"),
    ("DELETE", {}, CURRENT, REQUIRED, "6585-3 DELETE"),
    ("PUT", {}, None, REQUIRED, "6585-3 PUT creating"),
    ("POST", {}, CURRENT, PROCEED, "6585-3 POST not required"),
    ("GET", {}, CURRENT, PROCEED, "6585-3 GET not required"),
    ("PUT", {"If-Match": " "}, CURRENT, REQUIRED, "6585-3 empty If-Match is absent"),
    ("DELETE", {"If-Unmodified-Since": AT}, CURRENT, PROCEED, "6585-3 valid date"),
    # RFC 6585 §5: bounded cost.
    ("PUT", {"If-Match": OVERLONG_TAG}, CURRENT, TOO_LARGE, "6585-5 long If-Match"),
    ("GET", {"If-None-Match": "x" * 9000}, CURRENT, TOO_LARGE, "6585-5 long, GET"),
    ("GET", {"If-Modified-Since": OVERLONG_DATE}, CURRENT, TOO_LARGE, "6585-5 date"),
]


@pytest.mark.parametrize(
    ("method", "headers", "current", "outcome", "rule"),
    RFC_TABLE,
    ids=[row[-1] for row in RFC_TABLE],
)
def test_rfc_9110_section_13_table(
    method: str,
    headers: dict[str, str],
    current: Validators | None,
    outcome: Outcome,
    rule: str,
) -> None:
    assert evaluate(method, headers, current).outcome is outcome, rule


# -- which header decided, and what the decision says -------------------------


def test_failed_if_match_names_if_match() -> None:
    decision = evaluate("PUT", {"If-Match": '"xyz"'}, CURRENT)
    assert decision.header == "If-Match"


def test_failed_if_unmodified_since_names_it() -> None:
    decision = evaluate("PUT", {"If-Unmodified-Since": BEFORE}, CURRENT)
    assert decision.header == "If-Unmodified-Since"


def test_not_modified_by_if_modified_since_names_it() -> None:
    decision = evaluate("GET", {"If-Modified-Since": AT}, CURRENT)
    assert decision.header == "If-Modified-Since"


def test_unquoted_if_match_is_marked_malformed() -> None:
    assert evaluate("PUT", {"If-Match": "abc"}, CURRENT).malformed


def test_mismatched_if_match_is_not_marked_malformed() -> None:
    assert not evaluate("PUT", {"If-Match": '"xyz"'}, CURRENT).malformed


def test_update_without_preconditions_asks_for_if_match() -> None:
    assert evaluate("PUT", {}, CURRENT).header == "If-Match"


def test_create_without_preconditions_asks_for_if_none_match_star() -> None:
    decision = evaluate("PUT", {}, None)
    assert decision.header == "If-None-Match"
    assert "If-None-Match: *" in decision.reason


def test_overlong_header_decision_names_the_header() -> None:
    decision = evaluate("GET", {"If-None-Match": "x" * 9000}, CURRENT)
    assert decision.header == "If-None-Match"


def test_proceed_decision_reports_proceed() -> None:
    assert evaluate("PUT", {"If-Match": '"abc"'}, CURRENT).proceed


def test_failed_decision_does_not_report_proceed() -> None:
    assert not evaluate("PUT", {"If-Match": '"x"'}, CURRENT).proceed


# -- options -----------------------------------------------------------------------


def test_custom_required_methods_make_post_require_a_precondition() -> None:
    decision = evaluate("POST", {}, CURRENT, required_methods={"POST"})
    assert decision.outcome is REQUIRED


def test_custom_required_methods_release_put() -> None:
    decision = evaluate("PUT", {}, CURRENT, required_methods={"POST"})
    assert decision.outcome is PROCEED


def test_header_at_the_length_limit_is_evaluated() -> None:
    value = '"' + "a" * 98 + '"'
    decision = evaluate("GET", {"If-None-Match": value}, CURRENT, max_header_length=100)
    assert decision.outcome is PROCEED


def test_header_one_over_the_length_limit_is_431() -> None:
    value = '"' + "a" * 99 + '"'
    decision = evaluate("GET", {"If-None-Match": value}, CURRENT, max_header_length=100)
    assert decision.outcome is TOO_LARGE


def test_werkzeug_headers_are_looked_up_case_insensitively() -> None:
    headers = Headers([("if-match", '"xyz"')])
    assert evaluate("PUT", headers, CURRENT).outcome is FAILED


# -- hostile values -----------------------------------------------------------------


def test_quadratic_pattern_in_if_match_is_a_malformed_412() -> None:
    value = '"a"x, ' * 1300
    decision = evaluate("PUT", {"If-Match": value}, CURRENT)
    assert decision.outcome is FAILED and decision.malformed


def test_thousands_of_entity_tags_are_evaluated_and_found() -> None:
    value = ", ".join(f'"t{i}"' for i in range(1000)) + ', "abc"'
    assert len(value) < conditions.DEFAULT_MAX_HEADER_LENGTH
    assert evaluate("PUT", {"If-Match": value}, CURRENT).outcome is PROCEED


def test_megabyte_value_is_refused_without_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(value: str) -> t.NoReturn:
        raise AssertionError("an overlong value was parsed")

    monkeypatch.setattr(conditions, "parse_entity_tags", refuse)
    value = '"a", ' * 200_000
    assert evaluate("PUT", {"If-Match": value}, CURRENT).outcome is TOO_LARGE


def test_megabyte_date_is_refused_without_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(value: str) -> t.NoReturn:
        raise AssertionError("an overlong value was parsed")

    monkeypatch.setattr(conditions, "parse_http_date", refuse)
    value = AT + " " * 1_000_000
    assert evaluate("PUT", {"If-Unmodified-Since": value}, CURRENT).outcome is TOO_LARGE


def test_conditions_module_does_not_import_flask() -> None:
    code = (
        "import sys, flask_preconditions.conditions;"
        " assert 'flask' not in sys.modules, 'flask was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- properties ------------------------------------------------------------------------

METHODS = st.one_of(
    st.sampled_from(
        ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
    ),
    st.text(max_size=10),
)
LATIN_1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=200)
AWARE_DATES = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.just(UTC),
)
CURRENTS = st.one_of(
    st.none(),
    st.builds(
        Validators,
        etag=st.one_of(st.none(), st.text(max_size=20)),
        weak=st.booleans(),
        last_modified=st.one_of(st.none(), AWARE_DATES),
    ),
)
HEADER_NAMES = ["If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"]
ETAG_CHARACTERS = st.characters(
    codec="latin-1",
    exclude_characters='"\x7f',
    min_codepoint=0x21,
)
OPAQUE_TAGS = st.text(ETAG_CHARACTERS, max_size=12)
ENTITY_TAGS = st.builds(
    lambda weak, opaque: ("W/" if weak else "") + f'"{opaque}"',
    st.booleans(),
    OPAQUE_TAGS,
)


def _imf_fixdate(instant: dt.datetime) -> str:
    # Field by field: strftime writes years before 1000 with fewer than four
    # digits on some platforms.
    day_name = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[instant.weekday()]
    month = MONTH_NAMES[instant.month - 1]
    time_of_day = f"{instant.hour:02d}:{instant.minute:02d}:{instant.second:02d}"
    return f"{day_name}, {instant.day:02d} {month} {instant.year:04d} {time_of_day} GMT"


# Every HTTP-date form, the corners of §5.6.7, and near misses.
HTTP_DATES = st.one_of(
    st.builds(_imf_fixdate, st.datetimes()),
    st.sampled_from(
        [
            AT,
            BEFORE,
            BEFORE_RFC850,
            BEFORE_ASCTIME,
            YEAR_0000,
            YEAR_0050,
            YEAR_0050_ASCTIME,
            YEAR_9999,
            LEAP_SECOND,
            FEBRUARY_31,
            HOUR_24,
            "1 Jan 99999",
        ]
    ),
)


def _assert_is_decision(decision: object) -> None:
    assert isinstance(decision, Decision)
    assert isinstance(decision.outcome, Outcome)


@settings(max_examples=200, deadline=None)
@given(
    method=METHODS,
    values=st.fixed_dictionaries({}, optional=dict.fromkeys(HEADER_NAMES, st.text())),
    current=CURRENTS,
)
def test_arbitrary_text_in_any_header_gives_a_decision(
    method: str, values: dict[str, str], current: Validators | None
) -> None:
    _assert_is_decision(evaluate(method, values, current))


@settings(max_examples=200, deadline=None)
@given(
    method=METHODS,
    values=st.fixed_dictionaries({}, optional=dict.fromkeys(HEADER_NAMES, LATIN_1)),
    current=CURRENTS,
)
def test_arbitrary_latin_1_in_any_header_gives_a_decision(
    method: str, values: dict[str, str], current: Validators | None
) -> None:
    _assert_is_decision(evaluate(method, values, current))


@settings(max_examples=200, deadline=None)
@given(
    method=METHODS,
    values=st.fixed_dictionaries(
        {},
        optional={
            "If-Match": st.lists(ENTITY_TAGS).map(", ".join),
            "If-None-Match": st.lists(ENTITY_TAGS).map(", ".join),
            "If-Modified-Since": HTTP_DATES,
            "If-Unmodified-Since": HTTP_DATES,
        },
    ),
    current=CURRENTS,
)
def test_well_formed_headers_give_a_decision(
    method: str, values: dict[str, str], current: Validators | None
) -> None:
    _assert_is_decision(evaluate(method, values, current))


@settings(max_examples=200, deadline=None)
@given(
    current=OPAQUE_TAGS,
    others=st.lists(ENTITY_TAGS, max_size=20),
    position=st.integers(min_value=0),
)
def test_put_with_current_strong_tag_among_others_proceeds(
    current: str, others: list[str], position: int
) -> None:
    tags = list(others)
    tags.insert(position % (len(tags) + 1), f'"{current}"')
    decision = evaluate("PUT", {"If-Match": ", ".join(tags)}, Validators(current))
    assert decision.outcome is PROCEED


@settings(max_examples=200, deadline=None)
@given(current=OPAQUE_TAGS, tags=st.lists(ENTITY_TAGS, min_size=1, max_size=20))
def test_put_whose_if_match_lacks_the_current_tag_fails(
    current: str, tags: list[str]
) -> None:
    tags = [tag for tag in tags if tag != f'"{current}"']
    assume(tags)
    decision = evaluate("PUT", {"If-Match": ", ".join(tags)}, Validators(current))
    assert decision.outcome is FAILED


@settings(max_examples=200, deadline=None)
@given(
    current=OPAQUE_TAGS,
    others=st.lists(ENTITY_TAGS, max_size=20),
    method=st.sampled_from(["GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"]),
)
def test_weak_current_tag_never_satisfies_if_match(
    current: str, others: list[str], method: str
) -> None:
    value = ", ".join([*others, f'"{current}"', f'W/"{current}"'])
    decision = evaluate(method, {"If-Match": value}, Validators(current, weak=True))
    assert decision.outcome is FAILED


@settings(max_examples=200, deadline=None)
@given(
    current=OPAQUE_TAGS,
    current_weak=st.booleans(),
    sent_weak=st.booleans(),
    others=st.lists(ENTITY_TAGS, max_size=20),
    method=st.sampled_from(["GET", "HEAD"]),
)
def test_get_whose_if_none_match_has_the_current_tag_is_304(
    current: str,
    current_weak: bool,
    sent_weak: bool,
    others: list[str],
    method: str,
) -> None:
    sent = ("W/" if sent_weak else "") + f'"{current}"'
    value = ", ".join([*others, sent])
    decision = evaluate(
        method, {"If-None-Match": value}, Validators(current, current_weak)
    )
    assert decision.outcome is NOT_MODIFIED


@settings(max_examples=200, deadline=None)
@given(last_modified=AWARE_DATES, offset=st.integers(-(10**6), 10**6))
def test_if_modified_since_is_304_exactly_when_not_modified_since(
    last_modified: dt.datetime, offset: int
) -> None:
    last_modified = last_modified.replace(microsecond=0)
    try:
        date = last_modified + dt.timedelta(seconds=offset)
    except OverflowError:
        assume(False)
    current = Validators(last_modified=last_modified)
    decision = evaluate("GET", {"If-Modified-Since": _imf_fixdate(date)}, current)
    expected = NOT_MODIFIED if offset >= 0 else PROCEED
    assert decision.outcome is expected


@settings(max_examples=200, deadline=None)
@given(last_modified=AWARE_DATES, offset=st.integers(-(10**6), 10**6))
def test_if_unmodified_since_holds_exactly_when_not_modified_since(
    last_modified: dt.datetime, offset: int
) -> None:
    try:
        date = last_modified.replace(microsecond=0) + dt.timedelta(seconds=offset)
    except OverflowError:
        assume(False)
    current = Validators(last_modified=last_modified)
    decision = evaluate("PUT", {"If-Unmodified-Since": _imf_fixdate(date)}, current)
    expected = PROCEED if offset >= 0 else FAILED
    assert decision.outcome is expected


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(sorted(conditions.IGNORING_METHODS)),
    values=st.fixed_dictionaries({}, optional=dict.fromkeys(HEADER_NAMES, st.text())),
    current=CURRENTS,
)
def test_options_connect_and_trace_always_proceed(
    method: str, values: dict[str, str], current: Validators | None
) -> None:
    assert evaluate(method, values, current).outcome is PROCEED


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(["PUT", "PATCH", "DELETE"]),
    current=st.builds(
        Validators,
        etag=st.one_of(st.none(), OPAQUE_TAGS),
        weak=st.booleans(),
        last_modified=st.one_of(st.none(), AWARE_DATES),
    ),
)
def test_unconditional_write_to_an_existing_resource_is_always_428(
    method: str, current: Validators
) -> None:
    assert evaluate(method, {}, current).outcome is REQUIRED


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT"]),
    header=st.sampled_from(["If-Match", "If-None-Match"]),
    sent=ENTITY_TAGS,
    padding=st.sampled_from(["", " ", "\t ", "  "]),
    current=CURRENTS,
)
def test_a_single_tag_is_decided_as_the_parsed_list_decides_it(
    method: str,
    header: str,
    sent: str,
    padding: str,
    current: Validators | None,
) -> None:
    # A lone tag takes a shortcut past the parser; the same tag twice in a list
    # cannot, and must be decided the same way.
    single = evaluate(method, {header: f"{padding}{sent}{padding}"}, current)
    listed = evaluate(method, {header: f"{sent}, {sent}"}, current)
    assert single.outcome is listed.outcome


# -- options of evaluate() ---------------------------------------------------

FAR_FUTURE = "Fri, 31 Dec 9999 23:59:59 GMT"


@pytest.mark.parametrize(
    ("method", "headers", "current", "expected", "rule"),
    [
        ("PUT", {"If-Match": '"abc"'}, CURRENT, PROCEED, "a tag names the version"),
        (
            "PUT",
            {"If-Match": "*"},
            CURRENT,
            Outcome.PRECONDITION_REQUIRED,
            "If-Match: * names no version",
        ),
        (
            "PUT",
            {"If-Unmodified-Since": FAR_FUTURE},
            CURRENT,
            Outcome.PRECONDITION_REQUIRED,
            "a far-future date always holds",
        ),
        ("PUT", {"If-None-Match": "*"}, None, PROCEED, "creating still works"),
        (
            "PUT",
            {"If-Match": '"old"'},
            CURRENT,
            Outcome.PRECONDITION_FAILED,
            "a stale tag is still 412",
        ),
    ],
)
def test_require_entity_tag(
    method: str,
    headers: dict[str, str],
    current: Validators | None,
    expected: Outcome,
    rule: str,
) -> None:
    decision = evaluate(method, headers, current, require_entity_tag=True)
    assert decision.outcome is expected, rule


@pytest.mark.parametrize(
    ("value", "current", "expected", "rule"),
    [
        ('W/"abc"', CURRENT, PROCEED, "the weakened current tag"),
        ('"abc-gzip"', CURRENT, PROCEED, "mod_deflate's suffix"),
        ('"abc:zstd"', CURRENT, PROCEED, "Flask-Compress's suffix"),
        ('"abd-gzip"', CURRENT, Outcome.PRECONDITION_FAILED, "another tag's form"),
        ('"abc:gzip"', WEAK, Outcome.PRECONDITION_FAILED, "a weak current tag"),
    ],
)
def test_accept_altered_tags_in_if_match(
    value: str, current: Validators, expected: Outcome, rule: str
) -> None:
    decision = evaluate("PUT", {"If-Match": value}, current, accept_altered_tags=True)
    assert decision.outcome is expected, rule


@pytest.mark.parametrize(
    ("value", "cause"),
    [('W/"abc"', Cause.WEAK_TAG), ('"abc-gzip"', Cause.RECODED_TAG)],
)
def test_altered_tags_are_refused_by_default_with_their_cause(
    value: str, cause: Cause
) -> None:
    decision = evaluate("PUT", {"If-Match": value}, CURRENT)
    assert decision.outcome is Outcome.PRECONDITION_FAILED
    assert decision.cause is cause


# -- the revalidation shortcut agrees with evaluate() ---------------------------

TAG_CHARS = st.text(
    alphabet=st.characters(
        min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"'
    ),
    min_size=1,
    max_size=12,
)


@given(
    etag=TAG_CHARS,
    weak=st.booleans(),
    previous=st.lists(TAG_CHARS, max_size=2),
    method=st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "POST"]),
    value=st.one_of(
        st.sampled_from(["{t}", "W/{t}", " {t}\t", "{t}, {t}", "*", "", '"other"']),
        st.text(max_size=20),
    ),
    limit=st.sampled_from([4, 8192]),
)
@settings(max_examples=400)
def test_revalidates_current_tag_is_evaluates_304(
    etag: str, weak: bool, previous: list[str], method: str, value: str, limit: int
) -> None:
    current = Validators(etag, weak, None, tuple(previous))
    if_none_match = value.replace("{t}", f'"{etag}"')
    shortcut = conditions.revalidates_current_tag(
        method, if_none_match, current, max_header_length=limit
    )
    decision = evaluate(
        method, {"If-None-Match": if_none_match}, current, max_header_length=limit
    )
    if shortcut:
        assert decision.outcome is Outcome.NOT_MODIFIED
        assert decision.cause is Cause.NOT_MODIFIED
    exact = if_none_match.strip(" \t").removeprefix("W/") == f'"{etag}"'
    if exact and method in ("GET", "HEAD") and len(if_none_match) <= limit:
        assert shortcut


@given(
    etag=st.one_of(st.none(), TAG_CHARS),
    weak=st.booleans(),
    previous=st.lists(TAG_CHARS, max_size=2),
    last_modified=st.sampled_from(
        [None, dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)]
    ),
    exists=st.booleans(),
    method=st.sampled_from(
        ["PUT", "PATCH", "DELETE", "POST", "GET", "HEAD", "OPTIONS", "TRACE", "PURGE"]
    ),
    value=st.one_of(
        st.sampled_from(
            ["{t}", "{p}", "W/{t}", " {t}\t", "{t}, {t}", "*", "", " ", '"other"']
        ),
        st.text(max_size=20),
    ),
    limit=st.sampled_from([1, 4, 8192]),
    required_methods=st.sets(st.sampled_from(["PUT", "PATCH", "DELETE", "POST"])),
    require_entity_tag=st.booleans(),
    accept_altered_tags=st.booleans(),
)
@settings(max_examples=600)
def test_matches_current_tag_is_evaluates_proceed(
    etag: str | None,
    weak: bool,
    previous: list[str],
    last_modified: dt.datetime | None,
    exists: bool,
    method: str,
    value: str,
    limit: int,
    required_methods: set[str],
    require_entity_tag: bool,
    accept_altered_tags: bool,
) -> None:
    current = Validators(etag, weak, last_modified, tuple(previous)) if exists else None
    # {t}: the current tag; {p}: a tag an older key gave the same state.
    if_match = value.replace("{t}", f'"{etag}"').replace(
        "{p}", f'"{previous[0]}"' if previous else '"none"'
    )
    shortcut = conditions.matches_current_tag(
        if_match, current, max_header_length=limit
    )
    decision = evaluate(
        method,
        {"If-Match": if_match},
        current,
        required_methods=required_methods,
        max_header_length=limit,
        require_entity_tag=require_entity_tag,
        accept_altered_tags=accept_altered_tags,
    )
    if shortcut:
        assert decision.outcome is Outcome.PROCEED
    # Older keys' tags name the state of a resource that has a tag.
    named = {f'"{tag}"' for tag in (etag, *previous)} if etag is not None else set()
    exact = if_match.strip(" \t") in named
    if exists and exact and not weak and len(if_match) <= limit:
        assert shortcut


def test_matches_current_tag_needs_a_strong_tag_of_a_resource() -> None:
    assert not conditions.matches_current_tag('"a"', None)
    assert not conditions.matches_current_tag('"a"', Validators(None, False, None))
    assert not conditions.matches_current_tag('"a"', Validators("a", True, None))
    assert not conditions.matches_current_tag('W/"a"', Validators("a", False, None))
    assert not conditions.matches_current_tag(
        '"a"', Validators("a", False, None), max_header_length=2
    )
    assert conditions.matches_current_tag('"a"', Validators("a", False, None))
    assert conditions.matches_current_tag(
        '"old"', Validators("new", False, None, ("old",))
    )


def test_revalidates_current_tag_needs_a_resource_with_a_tag() -> None:
    assert not conditions.revalidates_current_tag("GET", '"a"', None)
    assert not conditions.revalidates_current_tag(
        "GET", '"a"', Validators(None, False, None)
    )
    assert conditions.revalidates_current_tag(
        "GET", '"old"', Validators("new", False, None, ("old",))
    )


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("ETag", True),
        ("Last-Modified", True),
        ("Cache-Control", True),
        ("Vary", True),
        ("Set-Cookie", True),
        ("Access-Control-Allow-Origin", True),
        ("Content-Type", False),
        ("content-length", False),
        ("Content-Disposition", False),
        ("Allow", False),
    ],
)
def test_a_304_keeps_all_but_content_metadata(name: str, kept: bool) -> None:
    assert conditions.kept_on_not_modified(name) is kept
    assert (name.lower() not in conditions.CONTENT_METADATA) is kept
