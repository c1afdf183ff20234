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
import typing as t

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"

OWN = [
    *("bare_200", "write_bare", "floor_200", "floor_hash_200", "floor_304"),
    "floor_write_if_match",
    *("version_200", "version_304", "hash_200", "hash_304", "write_if_match"),
    *("version_keyed_200", "version_keyed_304", "hash_keyed_200", "hash_keyed_304"),
    *("write_if_match_appwide", "428", "412", "werkzeug_200", "werkzeug_304"),
    *("version_200_no_hooks", "version_304_no_hooks"),
    *("write_if_match_no_hooks", "write_if_match_lock_off"),
    *("write_if_match_lock_file", "write_if_match_lock_thread"),
    *("unchecked_200", "unchecked_write"),
    # The hand-written check under flock, on POSIX.
    *(() if sys.platform == "win32" else ("floor_write_locked",)),
]
PEERS = {
    "flask-smorest": (
        ("flask_smorest", "marshmallow"),
        [f"smorest_{name}" for name in ("bare_200", "write_bare", "200", "304")]
        + [f"smorest_{name}" for name in ("write_if_match", "428", "412")],
    ),
    "django": (
        ("django",),
        [f"django_{name}" for name in ("bare_200", "write_bare", "200", "304")]
        + ["django_write_if_match", "django_412"],
    ),
}


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


@pytest.fixture(scope="module")
def quick_check() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "run.py"),
            "--quick",
            "--check",
            "--no-server",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_quick_check_passes(quick_check: subprocess.CompletedProcess[str]) -> None:
    assert quick_check.returncode == 0, quick_check.stdout + quick_check.stderr
    assert "Every response was checked and correct." in quick_check.stdout


def test_quick_check_checks_and_times_every_scenario(
    quick_check: subprocess.CompletedProcess[str],
) -> None:
    expected = list(OWN)
    for modules, names in PEERS.values():
        expected += names if _installed(*modules) else []
    checks = [
        line for line in quick_check.stdout.splitlines() if line.startswith("check ")
    ]
    checked = {line.split()[1] for line in checks if line.endswith(" ok")}
    # Redis and PostgreSQL locks are measured when a server is configured.
    optional = {"write_if_match_lock_redis", "write_if_match_lock_postgres"}
    assert set(expected) <= checked <= set(expected) | optional
    assert len(checks) == len(checked)
    table = quick_check.stdout.split("In process:", 1)[1]
    for name in checked:
        assert f"\n{name} " in table, name


def test_quick_check_says_which_peers_it_skipped(
    quick_check: subprocess.CompletedProcess[str],
) -> None:
    for peer, (modules, _) in PEERS.items():
        skipped = f"skipping the {peer} scenarios" in quick_check.stdout
        assert skipped is not _installed(*modules)


def test_quick_check_answers_hostile_headers_over_the_limit_with_431(
    quick_check: subprocess.CompletedProcess[str],
) -> None:
    rows = [
        line.split()
        for line in quick_check.stdout.splitlines()
        if line.startswith("If-Match: 1,024 KB ")
    ]
    assert len(rows) == 3
    # header (4 words), then status and µs with the default limit, then raised.
    assert [row[4] for row in rows] == ["431"] * 3
    assert [row[6] for row in rows] == ["412"] * 3


# -- the checks fail when an answer is wrong ------------------------------------


@pytest.fixture
def built() -> dict[str, t.Any]:
    """Our scenarios, on one store, prepared; with ``harness`` as ``"harness"``."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import harness
        import items
        import scenarios
    finally:
        sys.path.remove(str(BENCHMARKS))
    found: dict[str, t.Any] = {
        s.name: s for s in scenarios.build(items.Store(), peers=())
    }
    for scenario in found.values():
        scenario.prepare()
    return {**found, "harness": harness}


def rewriting_headers(
    app: t.Any, change: t.Callable[[list[tuple[str, str]]], list[tuple[str, str]]]
) -> t.Any:
    def middleware(environ: t.Any, start_response: t.Any) -> t.Any:
        def start(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
            return start_response(status, change(headers), exc_info)

        return app(environ, start)

    return middleware


def without_etag(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() != "etag"]


def with_other_etag(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [*without_etag(headers), ("ETag", '"other"')]


def as_plain_text(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in headers if k.lower() != "content-type"]
    return [*kept, ("Content-Type", "text/plain")]


@pytest.mark.parametrize(
    ("name", "change", "problem"),
    [
        ("version_304", without_etag, "no ETag"),
        ("version_200", with_other_etag, 'ETag "other", expected'),
        ("write_if_match", without_etag, "no ETag"),
        ("412", as_plain_text, "not a problem"),
    ],
)
def test_a_wrong_answer_fails_the_check(
    built: dict[str, t.Any], name: str, change: t.Any, problem: str
) -> None:
    scenario, verify = built[name], built["harness"].verify
    assert verify(scenario) == []
    scenario.app = rewriting_headers(scenario.app, change)
    assert any(problem in p for p in verify(scenario))


def test_a_refusal_that_writes_fails_the_check(built: dict[str, t.Any]) -> None:
    refusal = built["428"]
    refusal.app = built["write_bare"].app
    problems = built["harness"].verify(refusal)
    assert "status 200, expected 428" in problems
    assert any("not every request left the resource alone" in p for p in problems)
