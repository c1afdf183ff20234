"""The benchmark still runs and still measures the right responses.

Nothing here times anything: ``benchmarks/run.py --quick --check`` checks the
status and headers of every scenario's responses (a 304 that is really a 304,
a 412 with a problem body, an ETag where one is due, a write that wrote) and
exits non-zero when one is wrong. The figures themselves are for people.
"""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"

OWN_SCENARIOS = [
    "bare_200",
    "write_bare",
    "floor_304",
    "floor_write_if_match",
    "version_200",
    "version_304",
    "hash_200",
    "hash_304",
    "write_if_match",
    "write_if_match_appwide",
    "428",
    "412",
    "werkzeug_200",
    "werkzeug_304",
]
SMOREST_SCENARIOS = [
    "smorest_bare_200",
    "smorest_write_bare",
    "smorest_200",
    "smorest_304",
    "smorest_write_if_match",
    "smorest_428",
    "smorest_412",
]
DJANGO_SCENARIOS = [
    "django_bare_200",
    "django_write_bare",
    "django_200",
    "django_304",
    "django_write_if_match",
    "django_412",
]


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


@pytest.fixture(scope="module")
def quick_check() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), "--quick", "--check", "--no-server"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_quick_check_passes(quick_check: subprocess.CompletedProcess[str]) -> None:
    assert quick_check.returncode == 0, quick_check.stdout + quick_check.stderr
    assert "Every response was checked and correct." in quick_check.stdout


def test_quick_check_reports_every_scenario(
    quick_check: subprocess.CompletedProcess[str],
) -> None:
    expected = list(OWN_SCENARIOS)
    if _installed("flask_smorest", "marshmallow"):
        expected += SMOREST_SCENARIOS
    if _installed("django"):
        expected += DJANGO_SCENARIOS
    checked = {
        line.split()[1]
        for line in quick_check.stdout.splitlines()
        if line.startswith("check ") and line.rstrip().endswith(" ok")
    }
    assert checked == set(expected)
    table = quick_check.stdout.split("timing", 1)[1]
    for name in expected:
        assert f"\n{name} " in table, name


def test_quick_check_says_which_peers_it_skipped(
    quick_check: subprocess.CompletedProcess[str],
) -> None:
    for peer, modules in {
        "flask-smorest": ("flask_smorest", "marshmallow"),
        "django": ("django",),
    }.items():
        skipped = f"skipping the {peer} scenarios" in quick_check.stdout
        assert skipped is not _installed(*modules)


def test_quick_check_answers_hostile_headers_over_the_limit_with_431(
    quick_check: subprocess.CompletedProcess[str],
) -> None:
    rows = [
        line.split()
        for line in quick_check.stdout.splitlines()
        if line.startswith("If-Match: 1,024 KB") and " 8192 " in line
    ]
    assert len(rows) == 3
    assert all(row[5] == "431" for row in rows)
