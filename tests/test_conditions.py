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
from flask_preconditions import headers
from flask_preconditions.conditions import Decision
from flask_preconditions.conditions import evaluate
from flask_preconditions.conditions import Outcome
from flask_preconditions.conditions import Validators
from flask_preconditions.headers import parse_entity_tags
from flask_preconditions.headers import parse_http_date

UTC = dt.timezone.utc
LAST_MODIFIED = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
BEFORE = "Mon, 01 Jan 2024 11:00:00 GMT"
AT = "Mon, 01 Jan 2024 12:00:00 GMT"
AFTER = "Mon, 01 Jan 2024 13:00:00 GMT"

CURRENT = Validators(etag="abc", weak=False, last_modified=LAST_MODIFIED)
WEAK = Validators(etag="abc", weak=True, last_modified=LAST_MODIFIED)
ETAG_ONLY = Validators(etag="abc")
DATE_ONLY = Validators(etag=None, last_modified=LAST_MODIFIED)
SUBSECOND = Validators(
    etag="abc", last_modified=LAST_MODIFIED.replace(microsecond=500_000)
)

PROCEED = Outcome.PROCEED
NOT_MODIFIED = Outcome.NOT_MODIFIED
NOT_FOUND = Outcome.NOT_FOUND
FAILED = Outcome.PRECONDITION_FAILED
REQUIRED = Outcome.PRECONDITION_REQUIRED
TOO_LARGE = Outcome.HEADER_TOO_LARGE


def row(
    rule: str,
    method: str,
    headers: dict[str, str],
    current: Validators | None,
    outcome: Outcome,
) -> t.Any:
    return pytest.param(method, headers, current, outcome, id=rule)


RFC_TABLE = [
    # §13.1.1 If-Match: strong comparison, lists, "*".
    row(
        "13.1.1-if-match-strong-match-proceeds",
        "PUT",
        {"If-Match": '"abc"'},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.1.1-if-match-strong-mismatch-412",
        "PUT",
        {"If-Match": '"xyz"'},
        CURRENT,
        FAILED,
    ),
    row(
        "13.1.1-if-match-list-with-current-proceeds",
        "PUT",
        {"If-Match": '"x", "abc", "y"'},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.1.1-if-match-list-without-current-412",
        "PUT",
        {"If-Match": '"x", "y"'},
        CURRENT,
        FAILED,
    ),
    row(
        "13.1.1-if-match-weak-request-tag-never-matches-412",
        "PUT",
        {"If-Match": 'W/"abc"'},
        CURRENT,
        FAILED,
    ),
    row(
        "13.1.1-if-match-weak-current-tag-never-matches-412",
        "PUT",
        {"If-Match": '"abc"'},
        WEAK,
        FAILED,
    ),
    row(
        "13.1.1-if-match-star-on-existing-proceeds",
        "PUT",
        {"If-Match": "*"},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.1.1-if-match-star-on-weak-existing-proceeds",
        "DELETE",
        {"If-Match": "*"},
        WEAK,
        PROCEED,
    ),
    row("13.1.1-if-match-star-on-absent-412", "PUT", {"If-Match": "*"}, None, FAILED),
    row(
        "13.1.1-if-match-tag-on-absent-412", "PUT", {"If-Match": '"abc"'}, None, FAILED
    ),
    row(
        "13.1.1-if-match-without-current-etag-412",
        "PUT",
        {"If-Match": '"abc"'},
        DATE_ONLY,
        FAILED,
    ),
    row(
        "13.1.1-if-match-unquoted-is-false-412",
        "PUT",
        {"If-Match": "abc"},
        CURRENT,
        FAILED,
    ),
    row(
        "13.1.1-if-match-on-get-mismatch-412",
        "GET",
        {"If-Match": '"xyz"'},
        CURRENT,
        FAILED,
    ),
    row(
        "13.1.1-if-match-on-get-match-proceeds",
        "GET",
        {"If-Match": '"abc"'},
        CURRENT,
        PROCEED,
    ),
    row(
        "5.6.1-if-match-empty-list-elements-tolerated",
        "PATCH",
        {"If-Match": ' , "abc" ,, '},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.1.1-if-match-is-case-sensitive-412",
        "PUT",
        {"If-Match": '"ABC"'},
        CURRENT,
        FAILED,
    ),
    row(
        "8.8.3-if-match-empty-opaque-tag-matches-proceeds",
        "PUT",
        {"If-Match": '"x", ""'},
        Validators(etag=""),
        PROCEED,
    ),
    # §13.1.4 If-Unmodified-Since.
    row(
        "13.1.4-ius-modified-after-date-412",
        "PUT",
        {"If-Unmodified-Since": BEFORE},
        CURRENT,
        FAILED,
    ),
    row(
        "13.1.4-ius-equal-to-last-modified-proceeds",
        "PUT",
        {"If-Unmodified-Since": AT},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.1.4-ius-after-last-modified-proceeds",
        "PUT",
        {"If-Unmodified-Since": AFTER},
        CURRENT,
        PROCEED,
    ),
    row(
        "5.6.7-ius-compares-at-one-second-resolution",
        "PUT",
        {"If-Unmodified-Since": AT},
        SUBSECOND,
        PROCEED,
    ),
    row(
        "13.1.4-ius-on-get-modified-412",
        "GET",
        {"If-Unmodified-Since": BEFORE},
        CURRENT,
        FAILED,
    ),
    row(
        "13.1.4-ius-invalid-date-ignored-get-proceeds",
        "GET",
        {"If-Unmodified-Since": "yesterday"},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.1.4-ius-invalid-date-ignored-put-428",
        "PUT",
        {"If-Unmodified-Since": "yesterday"},
        CURRENT,
        REQUIRED,
    ),
    row(
        "13.1.4-ius-two-members-ignored-put-428",
        "PUT",
        {"If-Unmodified-Since": f"{BEFORE}, {BEFORE}"},
        CURRENT,
        REQUIRED,
    ),
    row(
        "13.1.4-ius-without-last-modified-ignored-428",
        "PUT",
        {"If-Unmodified-Since": BEFORE},
        ETAG_ONLY,
        REQUIRED,
    ),
    row(
        "13.1.4-ius-obsolete-rfc850-date-understood-412",
        "PUT",
        {"If-Unmodified-Since": "Monday, 01-Jan-24 11:00:00 GMT"},
        CURRENT,
        FAILED,
    ),
    row(
        "13.1.4-ius-obsolete-asctime-date-understood-412",
        "PUT",
        {"If-Unmodified-Since": "Mon Jan  1 11:00:00 2024"},
        CURRENT,
        FAILED,
    ),
    # §13.1.2 If-None-Match: weak comparison.
    row(
        "13.1.2-inm-match-get-304",
        "GET",
        {"If-None-Match": '"abc"'},
        CURRENT,
        NOT_MODIFIED,
    ),
    row(
        "13.1.2-inm-match-head-304",
        "HEAD",
        {"If-None-Match": '"abc"'},
        CURRENT,
        NOT_MODIFIED,
    ),
    row(
        "13.1.2-inm-weak-request-tag-matches-weakly-304",
        "GET",
        {"If-None-Match": 'W/"abc"'},
        CURRENT,
        NOT_MODIFIED,
    ),
    row(
        "13.1.2-inm-weak-current-tag-matches-weakly-304",
        "GET",
        {"If-None-Match": '"abc"'},
        WEAK,
        NOT_MODIFIED,
    ),
    row(
        "13.1.2-inm-list-with-current-304",
        "GET",
        {"If-None-Match": '"x", W/"abc"'},
        CURRENT,
        NOT_MODIFIED,
    ),
    row(
        "13.1.2-inm-mismatch-get-proceeds",
        "GET",
        {"If-None-Match": '"x", "y"'},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.1.2-inm-star-on-existing-get-304",
        "GET",
        {"If-None-Match": "*"},
        CURRENT,
        NOT_MODIFIED,
    ),
    row(
        "13.1.2-inm-malformed-ignored-get-proceeds",
        "GET",
        {"If-None-Match": "abc"},
        CURRENT,
        PROCEED,
    ),
    row("13.1.2-inm-match-put-412", "PUT", {"If-None-Match": '"abc"'}, CURRENT, FAILED),
    row(
        "13.1.2-inm-match-post-412", "POST", {"If-None-Match": '"abc"'}, CURRENT, FAILED
    ),
    row(
        "13.1.2-inm-star-put-on-existing-412",
        "PUT",
        {"If-None-Match": "*"},
        CURRENT,
        FAILED,
    ),
    row(
        "13.1.2-inm-star-put-on-absent-creates",
        "PUT",
        {"If-None-Match": "*"},
        None,
        PROCEED,
    ),
    row(
        "13.1.2-inm-star-put-on-absent-with-spaces-creates",
        "PUT",
        {"If-None-Match": " * "},
        None,
        PROCEED,
    ),
    row(
        "13.1.2-inm-mismatch-put-still-needs-if-match-428",
        "PUT",
        {"If-None-Match": '"x"'},
        CURRENT,
        REQUIRED,
    ),
    row(
        "13.1.2-inm-tag-put-on-absent-must-be-star-428",
        "PUT",
        {"If-None-Match": '"x"'},
        None,
        REQUIRED,
    ),
    # §13.1.3 If-Modified-Since: GET and HEAD only.
    row(
        "13.1.3-ims-equal-to-last-modified-304",
        "GET",
        {"If-Modified-Since": AT},
        CURRENT,
        NOT_MODIFIED,
    ),
    row(
        "13.1.3-ims-after-last-modified-304",
        "HEAD",
        {"If-Modified-Since": AFTER},
        CURRENT,
        NOT_MODIFIED,
    ),
    row(
        "13.1.3-ims-before-last-modified-proceeds",
        "GET",
        {"If-Modified-Since": BEFORE},
        CURRENT,
        PROCEED,
    ),
    row(
        "5.6.7-ims-compares-at-one-second-resolution-304",
        "GET",
        {"If-Modified-Since": AT},
        SUBSECOND,
        NOT_MODIFIED,
    ),
    row(
        "13.1.3-ims-invalid-date-ignored-proceeds",
        "GET",
        {"If-Modified-Since": "not a date"},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.1.3-ims-without-last-modified-proceeds",
        "GET",
        {"If-Modified-Since": AFTER},
        ETAG_ONLY,
        PROCEED,
    ),
    row(
        "13.1.3-ims-ignored-on-post-proceeds",
        "POST",
        {"If-Modified-Since": AFTER},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.1.3-ims-ignored-on-put-428",
        "PUT",
        {"If-Modified-Since": AFTER},
        CURRENT,
        REQUIRED,
    ),
    row(
        "13.1.3-ims-date-only-resource-304",
        "GET",
        {"If-Modified-Since": AT},
        DATE_ONLY,
        NOT_MODIFIED,
    ),
    # §13.2.2 order of evaluation.
    row(
        "13.2.2-step1-if-match-failure-beats-inm-match-412",
        "GET",
        {"If-Match": '"x"', "If-None-Match": '"abc"'},
        CURRENT,
        FAILED,
    ),
    row(
        "13.2.2-step1-then-step3-inm-match-get-304",
        "GET",
        {"If-Match": '"abc"', "If-None-Match": '"abc"'},
        CURRENT,
        NOT_MODIFIED,
    ),
    row(
        "13.2.2-step1-then-step3-inm-match-put-412",
        "PUT",
        {"If-Match": '"abc"', "If-None-Match": '"abc"'},
        CURRENT,
        FAILED,
    ),
    row(
        "13.2.2-step2-ius-ignored-when-if-match-present",
        "PUT",
        {"If-Match": '"abc"', "If-Unmodified-Since": BEFORE},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.2.2-step2-ius-ignored-when-if-match-star",
        "PUT",
        {"If-Match": "*", "If-Unmodified-Since": BEFORE},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.2.2-step2-ius-failure-beats-inm-match-412",
        "GET",
        {"If-Unmodified-Since": BEFORE, "If-None-Match": '"abc"'},
        CURRENT,
        FAILED,
    ),
    row(
        "13.2.2-step4-ims-ignored-when-inm-present",
        "GET",
        {"If-None-Match": '"x"', "If-Modified-Since": AFTER},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.2.2-step4-ims-ignored-when-inm-malformed",
        "GET",
        {"If-None-Match": "abc", "If-Modified-Since": AFTER},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.2.2-step2-then-step4-ims-304",
        "GET",
        {"If-Unmodified-Since": AFTER, "If-Modified-Since": AT},
        CURRENT,
        NOT_MODIFIED,
    ),
    # §13.2.1 absent resources and methods that ignore preconditions.
    row("13.2.1-get-absent-is-404", "GET", {}, None, NOT_FOUND),
    row(
        "13.2.1-get-absent-with-if-match-is-404-not-412",
        "GET",
        {"If-Match": '"abc"'},
        None,
        NOT_FOUND,
    ),
    row(
        "13.2.1-head-absent-with-inm-is-404",
        "HEAD",
        {"If-None-Match": "*"},
        None,
        NOT_FOUND,
    ),
    row(
        "13.2.1-delete-absent-with-if-match-is-404-not-412",
        "DELETE",
        {"If-Match": '"abc"'},
        None,
        NOT_FOUND,
    ),
    row(
        "13.2.1-patch-absent-with-if-match-is-404-not-412",
        "PATCH",
        {"If-Match": '"abc"'},
        None,
        NOT_FOUND,
    ),
    row(
        "13.2.1-delete-absent-without-headers-is-404-not-428",
        "DELETE",
        {},
        None,
        NOT_FOUND,
    ),
    row(
        "13.2.1-options-ignores-if-match",
        "OPTIONS",
        {"If-Match": '"x"'},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.2.1-connect-ignores-if-none-match",
        "CONNECT",
        {"If-None-Match": '"abc"'},
        CURRENT,
        PROCEED,
    ),
    row(
        "13.2.1-trace-ignores-if-unmodified-since",
        "TRACE",
        {"If-Unmodified-Since": BEFORE},
        CURRENT,
        PROCEED,
    ),
    row("13.2.1-options-on-absent-proceeds", "OPTIONS", {}, None, PROCEED),
    # RFC 6585 §3: unsafe requests must be conditional.
    row("6585-3-put-without-preconditions-428", "PUT", {}, CURRENT, REQUIRED),
    row("6585-3-patch-without-preconditions-428", "PATCH", {}, CURRENT, REQUIRED),
    row("6585-3-delete-without-preconditions-428", "DELETE", {}, CURRENT, REQUIRED),
    row("6585-3-put-creating-without-preconditions-428", "PUT", {}, None, REQUIRED),
    row("6585-3-post-is-not-required-proceeds", "POST", {}, CURRENT, PROCEED),
    row("6585-3-get-is-not-required-proceeds", "GET", {}, CURRENT, PROCEED),
    row(
        "6585-3-empty-if-match-counts-as-absent-428",
        "PUT",
        {"If-Match": " "},
        CURRENT,
        REQUIRED,
    ),
    row(
        "6585-3-valid-ius-is-a-precondition-proceeds",
        "DELETE",
        {"If-Unmodified-Since": AT},
        CURRENT,
        PROCEED,
    ),
    # RFC 6585 §5: bounded cost.
    row(
        "6585-5-overlong-if-match-431",
        "PUT",
        {"If-Match": '"' + "a" * 9000 + '"'},
        CURRENT,
        TOO_LARGE,
    ),
    row(
        "6585-5-overlong-if-none-match-on-get-431",
        "GET",
        {"If-None-Match": "x" * 9000},
        CURRENT,
        TOO_LARGE,
    ),
    row(
        "6585-5-overlong-date-431",
        "GET",
        {"If-Modified-Since": AT + " " * 9000},
        CURRENT,
        TOO_LARGE,
    ),
]


@pytest.mark.parametrize(("method", "headers", "current", "outcome"), RFC_TABLE)
def test_rfc_9110_section_13_table(
    method: str,
    headers: dict[str, str],
    current: Validators | None,
    outcome: Outcome,
) -> None:
    assert evaluate(method, headers, current).outcome is outcome


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


# -- parsing -----------------------------------------------------------------------


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


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("abc", id="unquoted"),
        pytest.param('"abc', id="unterminated"),
        pytest.param('"a"b"', id="quote-inside"),
        pytest.param('w/"abc"', id="lower-case-weak-prefix"),
        pytest.param('"a" "b"', id="missing-comma"),
        pytest.param('"a b"', id="space-inside"),
        pytest.param(",", id="only-commas"),
        pytest.param('*, "a"', id="star-in-a-list"),
        pytest.param('"\x7f"', id="control-character"),
    ],
)
def test_parse_entity_tags_rejects_invalid_syntax(value: str) -> None:
    assert parse_entity_tags(value) is None


def test_parse_entity_tags_rejects_werkzeug_quadratic_pattern_without_werkzeug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Werkzeug's parse_etags takes minutes on this input; the linear pre-check
    # must reject it before Werkzeug ever sees it.
    def refuse(value: str) -> t.NoReturn:
        raise AssertionError("parse_etags reached with a malformed value")

    monkeypatch.setattr(headers, "parse_etags", refuse)
    assert parse_entity_tags('"a"x, ' * 100_000) is None


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

    monkeypatch.setattr(headers, "parse_etags", refuse)
    monkeypatch.setattr(headers, "parse_date", refuse)
    value = '"a", ' * 200_000
    assert evaluate("PUT", {"If-Match": value}, CURRENT).outcome is TOO_LARGE


def test_parse_http_date_ignores_a_list_of_dates() -> None:
    assert parse_http_date(f"{AT}, {AT}") is None


def test_parse_http_date_ignores_a_list_of_asctime_dates() -> None:
    value = "Mon Jan  1 12:00:00 2024, Mon Jan  1 12:00:00 2024"
    assert parse_http_date(value) is None


def test_parse_http_date_reads_an_imf_fixdate() -> None:
    assert parse_http_date(AT) == LAST_MODIFIED


def test_parse_http_date_returns_none_for_garbage() -> None:
    assert parse_http_date("soon") is None


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
# Every HTTP-date form, and the odd ones email.utils accepts.
HTTP_DATES = st.one_of(
    st.builds(
        lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        st.datetimes(min_value=dt.datetime(1900, 1, 1)),
    ),
    st.sampled_from([AT, BEFORE, "Monday, 01-Jan-24 11:00:00 GMT", "1 Jan 99999"]),
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
        return
    if date.year < 1900:
        return
    header = date.strftime("%a, %d %b %Y %H:%M:%S GMT")
    current = Validators(last_modified=last_modified)
    decision = evaluate("GET", {"If-Modified-Since": header}, current)
    expected = NOT_MODIFIED if offset >= 0 else PROCEED
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
    ],
    ids=["trailing", "zone", "no-gmt", "lower-day", "one-digit-day", "iso", "spaces"],
)
def test_13_1_4_what_is_not_an_http_date_is_ignored(value: str) -> None:
    assert parse_http_date(value) is None


def test_13_1_4_if_unmodified_since_with_trailing_text_does_not_satisfy_428() -> None:
    far_future = "Fri, 31 Dec 9999 23:59:59 GMT junk"
    decision = evaluate("PUT", {"If-Unmodified-Since": far_future}, CURRENT)
    assert decision.outcome is Outcome.PRECONDITION_REQUIRED


def test_5_6_7_a_two_digit_year_is_never_more_than_50_years_ahead() -> None:
    this_year = dt.datetime.now(UTC).year
    ahead = (this_year + 50) % 100  # exactly 50 years ahead: kept in the future
    beyond = (this_year + 51) % 100  # 51 years ahead: the past century
    read_ahead = parse_http_date(f"Monday, 01-Jan-{ahead:02d} 00:00:00 GMT")
    read_beyond = parse_http_date(f"Monday, 01-Jan-{beyond:02d} 00:00:00 GMT")
    assert read_ahead is not None and read_beyond is not None
    assert read_ahead.year == this_year + 50
    assert read_beyond.year == this_year + 51 - 100
