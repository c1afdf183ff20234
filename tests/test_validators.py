"""Entity-tags from versions and bodies, and Last-Modified normalisation."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import typing as t

import pytest

from flask_preconditions.validators import etag_for_body
from flask_preconditions.validators import etag_for_version
from flask_preconditions.validators import to_last_modified

UTC = dt.timezone.utc

VERSIONS: list[t.Any] = [
    7,
    "7",
    b"7",
    "é ✓ \udc80",
    {"b": [1, 2.5, None, True], "a": "x"},
    [1, "1"],
]


def _etags_in_subprocess(seed: str) -> list[str]:
    code = (
        "import json;"
        " from flask_preconditions.validators import etag_for_version;"
        f" versions = {VERSIONS!r};"
        " print(json.dumps([etag_for_version(v) for v in versions]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return t.cast(list[str], json.loads(result.stdout))


def test_etag_for_version_is_the_same_in_processes_with_other_hash_seeds() -> None:
    expected = [etag_for_version(v) for v in VERSIONS]
    assert _etags_in_subprocess("1") == expected
    assert _etags_in_subprocess("4242") == expected


def test_etag_for_version_is_a_known_digest() -> None:
    # Pinned so that a change of algorithm, which would invalidate every
    # client's stored ETag on upgrade, cannot pass unnoticed.
    assert etag_for_version(1) == "cad38c8cc221350cee48b904fdc82987"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(1, "1", id="int-vs-str"),
        pytest.param(1, b"1", id="int-vs-bytes"),
        pytest.param("1", b"1", id="str-vs-bytes"),
        pytest.param(1, 1.0, id="int-vs-float"),
        pytest.param(True, 1, id="bool-vs-int"),
        pytest.param("1", ["1"], id="str-vs-list"),
        pytest.param(1, 2, id="different-ints"),
    ],
)
def test_versions_of_different_type_or_value_give_different_etags(
    a: t.Any, b: t.Any
) -> None:
    assert etag_for_version(a) != etag_for_version(b)


def test_dict_key_order_does_not_change_the_etag() -> None:
    first = {"id": 3, "version": 9, "tags": ["a"]}
    second = {"tags": ["a"], "version": 9, "id": 3}
    assert etag_for_version(first) == etag_for_version(second)


def test_list_order_changes_the_etag() -> None:
    assert etag_for_version([1, 2]) != etag_for_version([2, 1])


def test_etag_for_version_is_32_hexadecimal_characters() -> None:
    etag = etag_for_version("anything")
    assert len(etag) == 32
    assert set(etag) <= set("0123456789abcdef")


def test_large_ints_are_supported() -> None:
    assert etag_for_version(10**40) != etag_for_version(10**40 + 1)


@pytest.mark.parametrize(
    "version",
    [
        pytest.param(object(), id="object"),
        pytest.param({1, 2}, id="set"),
        pytest.param(dt.datetime(2024, 1, 1), id="datetime"),
        pytest.param(float("nan"), id="nan"),
        pytest.param({"a": object()}, id="nested-object"),
    ],
)
def test_unsupported_version_is_a_type_error_naming_the_accepted_types(
    version: t.Any,
) -> None:
    with pytest.raises(TypeError, match="must be an int, str, bytes or a JSON"):
        etag_for_version(version)


def test_unsupported_version_error_names_the_type() -> None:
    with pytest.raises(TypeError, match="'set'"):
        etag_for_version({1})


def test_etag_for_body_depends_on_every_byte() -> None:
    assert etag_for_body(b"hello") != etag_for_body(b"hellO")


def test_etag_for_body_is_deterministic() -> None:
    assert etag_for_body(b"hello") == etag_for_body(b"hello")


def test_naive_datetime_is_taken_as_utc() -> None:
    value = to_last_modified(dt.datetime(2024, 5, 6, 7, 8, 9))
    assert value == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert value.tzinfo is UTC


def test_aware_datetime_is_converted_to_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    value = to_last_modified(dt.datetime(2024, 5, 6, 9, 8, 9, tzinfo=plus_two))
    assert value == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert value.utcoffset() == dt.timedelta(0)
    assert value.hour == 7


def test_microseconds_are_dropped() -> None:
    value = to_last_modified(dt.datetime(2024, 5, 6, 7, 8, 9, 999_999))
    assert value.microsecond == 0
    assert value.second == 9


def test_date_is_midnight_utc() -> None:
    value = to_last_modified(dt.date(2024, 5, 6))
    assert value == dt.datetime(2024, 5, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("2024-05-06", id="str"),
        pytest.param(1714979289, id="timestamp"),
        pytest.param(dt.time(12, 0), id="time"),
    ],
)
def test_to_last_modified_rejects_other_types_with_a_clear_message(
    value: t.Any,
) -> None:
    with pytest.raises(TypeError, match="must return a datetime, a date or None"):
        to_last_modified(value)


@pytest.mark.parametrize(
    "versions", [(1, True), (0, False), (1, "1"), ("a", b"a")], ids=repr
)
def test_remembered_tags_keep_equal_values_of_other_types_apart(
    versions: tuple[t.Any, t.Any],
) -> None:
    from flask_preconditions.validators import etag_for_version_cached

    first, second = versions
    # Remembering 1 first must not hand its tag to True (1 == True in Python).
    assert etag_for_version_cached(first) == etag_for_version(first)
    assert etag_for_version_cached(second) == etag_for_version(second)
    assert etag_for_version_cached(first) != etag_for_version_cached(second)


def test_remembered_tags_accept_unhashable_versions() -> None:
    from flask_preconditions.validators import etag_for_version_cached

    assert etag_for_version_cached({"a": [1]}) == etag_for_version({"a": [1]})
