"""Benchmark flask-preconditions against plain Flask and its peers.

::

    python benchmarks/run.py                 # full run, with the gunicorn part
    python benchmarks/run.py --quick         # about a minute at most
    python benchmarks/run.py --quick --check # what the test suite runs
    python benchmarks/run.py --write-docs    # also rewrite the results in
                                             # docs/performance.rst and the chart

Every figure is a median µs per request and a ratio to a baseline measured in
the same run (see ``harness.py`` for how). The peers (flask-smorest, Django,
matplotlib for the chart) come from ``benchmarks/requirements.txt``; a peer
that is not installed is skipped, and said so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import pathlib
import platform
import sys
import time
import typing as t

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import hostile  # noqa: E402
import scenarios  # noqa: E402
from items import Store  # noqa: E402

DOCS_PAGE = ROOT / "docs" / "performance.rst"
CHART = ROOT / "docs" / "_static" / "benchmark.png"
BEGIN = ".. begin-benchmark-results"
END = ".. end-benchmark-results"


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} cores, {platform.system()}"
        f" {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": ", ".join(
            f"{name} {_version(name)}"
            for name in (
                "flask-preconditions",
                "flask",
                "werkzeug",
                "flask-smorest",
                "marshmallow",
                "django",
                "gunicorn",
            )
        ),
    }


class Report:
    """Everything one run measured, and the verdicts on the targets."""

    def __init__(
        self,
        timings: dict[str, harness.Timing],
        failures: list[str],
        skipped: list[str],
        settings: dict[str, t.Any],
    ) -> None:
        self.timings = timings
        self.failures = failures
        self.skipped = skipped
        self.settings = settings
        self.machine = machine()
        self.hostile: list[hostile.Case] = []
        self.server: dict[str, t.Any] = {}
        self.notes_server: dict[str, t.Any] = {}
        self.profiles: dict[str, list[harness.ProfileLine]] = {}

    def ratio(self, name: str, versus: str | None = None) -> float:
        timing = self.timings[name]
        versus = versus or timing.scenario.baseline
        if versus is None:
            return 1.0
        return harness.paired_ratio(self.timings, name, versus)

    def target_rows(self) -> list[tuple[str, str, float, str, bool]]:
        """(scenario, versus, ratio, target, met) for every target."""
        rows = []
        for target in scenarios.TARGETS:
            if target.scenario in self.timings:
                ratio = self.ratio(target.scenario, target.versus)
                rows.append(
                    (
                        target.scenario,
                        target.versus,
                        ratio,
                        target.text,
                        ratio <= target.limit,
                    )
                )
        return rows

    def peer_rows(self) -> list[tuple[str, float, str, float, bool]]:
        """(ours, our ratio, peer scenario, its ratio, ours is lower)."""
        rows = []
        for ours, peers in scenarios.EQUIVALENTS.items():
            if ours not in self.timings:
                continue
            mine = self.ratio(ours)
            for peer in peers:
                if peer in self.timings:
                    theirs = self.ratio(peer)
                    rows.append((ours, mine, peer, theirs, mine < theirs))
        return rows

    def hostile_rows(self) -> list[tuple[str, str, int, float, float, bool]]:
        return [
            (
                c.label,
                c.config,
                c.status,
                c.microseconds,
                c.us_per_kb,
                c.microseconds <= hostile.LIMIT_MS * 1000,
            )
            for c in self.hostile
        ]

    def hostile_failures(self) -> list[str]:
        problems = []
        for case in self.hostile:
            if not 400 <= case.status < 500:
                problems.append(f"hostile {case.label} ({case.config}): {case.status}")
            if case.config == "default" and case.size > 8192 and case.status != 431:
                problems.append(
                    f"hostile {case.label}: {case.status} over the limit, not 431"
                )
        return problems

    def verdicts(self) -> list[tuple[str, bool]]:
        verdicts = [
            (f"{s} {text} (measured {r:.2f}x {v})", met)
            for s, v, r, text, met in self.target_rows()
        ]
        verdicts += [
            (f"{o} ({mine:.2f}x) ahead of {p} ({theirs:.2f}x)", ahead)
            for o, mine, p, theirs, ahead in self.peer_rows()
        ]
        if self.hostile:
            default = [c for c in self.hostile if c.config == "default"]
            worst = max(c.microseconds for c in default)
            verdicts.append(
                (
                    f"hostile headers, default limit: slowest answer {worst / 1000:.2f}"
                    f" ms ≤ {hostile.LIMIT_MS:g} ms",
                    worst <= hostile.LIMIT_MS * 1000,
                )
            )
            for shape in ("list", "malformed", "opaque"):
                growth = hostile.linear(self.hostile, "raised", shape)
                verdicts.append(
                    (
                        f"hostile {shape} values, raised limit: marginal cost per KB"
                        f" from 256 KB to 1 MB is {growth:.2f}x that from 64 to 256 KB"
                        " (linear: about 1x, quadratic: about 4x; target ≤ 2x)",
                        growth <= 2.0,
                    )
                )
        return verdicts


# -- printing --------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
        for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def scenario_rows(report: Report) -> list[list[str]]:
    targets = {row[0]: row for row in report.target_rows()}
    rows = []
    for name, timing in report.timings.items():
        scenario = timing.scenario
        ratio = report.ratio(name)
        target = targets.get(name)
        rows.append(
            [
                name,
                scenario.framework,
                f"{timing.median_us:.1f}",
                f"±{timing.spread_us:.1f}",
                f"{ratio:.2f}x" if scenario.baseline else "1.00x (baseline)",
                scenario.baseline or "",
                target[3] if target else "",
                ("yes" if target[4] else "NO") if target else "",
            ]
        )
    return rows


def print_report(report: Report) -> None:
    m = report.machine
    print(f"\n{m['machine']}; {m['python']}")
    print(m["versions"])
    s = report.settings
    print(
        f"{s['rounds']} rounds, ~{s['round_ms']:g} ms per scenario per round,"
        f" {s['warmup']} warm-up requests, GC off in timed loops;"
        " ratios are medians of per-round ratios to the baseline\n"
    )
    print(
        _table(
            [
                "scenario",
                "framework",
                "µs/req",
                "spread",
                "ratio",
                "vs",
                "target",
                "met",
            ],
            scenario_rows(report),
        )
    )
    peer_rows = report.peer_rows()
    if peer_rows:
        print("\nAgainst the peers, each as a ratio to its own framework's bare view:")
        print(
            _table(
                ["ours", "ratio", "peer", "ratio", "ahead"],
                [
                    [o, f"{a:.2f}x", p, f"{b:.2f}x", "yes" if ok else "NO"]
                    for o, a, p, b, ok in peer_rows
                ],
            )
        )
    if report.hostile:
        print("\nHostile precondition headers (PUT, If-Match matching nothing):")
        print(
            _table(
                ["header", "limit", "status", "µs/req", "µs/KB", "≤ 5 ms"],
                [
                    [
                        label,
                        "8192" if config == "default" else "4 MiB",
                        str(status),
                        f"{us:.0f}",
                        f"{per_kb:.2f}",
                        "yes" if ok else "NO",
                    ]
                    for label, config, status, us, per_kb, ok in report.hostile_rows()
                ],
            )
        )
    if report.server:
        print("\nUnder gunicorn (2 sync workers, 127.0.0.1), requests per second:")
        print(
            _table(
                ["scenario", "req/s", "ratio to bare_200", "requests"],
                server_rows(report.server, "bare_200"),
            )
        )
    if report.notes_server:
        print(
            "\nThe notes example app (examples/notes, SQLite) under gunicorn"
            " (2 sync workers), requests per second:"
        )
        print(
            _table(
                ["scenario", "req/s", "ratio to notes_200", "requests"],
                server_rows(report.notes_server, "notes_200"),
            )
        )
    for name, lines in report.profiles.items():
        print(f"\nWhere {name} spends more than its baseline (cProfile, µs/request):")
        print(profile_text(lines))
    for name in report.skipped:
        print(f"\nskipped: {name}")
    verdicts = report.verdicts()
    met = sum(ok for _, ok in verdicts)
    print()
    for text, ok in verdicts:
        print(f"  [{'met' if ok else 'MISSED'}] {text}")
    print(f"\nVerdict: {met} of {len(verdicts)} targets met.", end=" ")
    if report.failures:
        print(f"{len(report.failures)} CHECKS FAILED:")
        for failure in report.failures:
            print(f"  {failure}")
    else:
        print("Every response was checked and correct.")


def server_rows(results: dict[str, t.Any], baseline: str) -> list[list[str]]:
    base = results[baseline].per_second
    return [
        [name, f"{r.per_second:.0f}", f"{r.per_second / base:.2f}x", str(r.requests)]
        for name, r in results.items()
    ]


def profile_text(lines: list[harness.ProfileLine]) -> str:
    return "\n".join(
        f"  {line.extra_us:+7.2f}  ({line.scenario_us:6.2f} vs {line.baseline_us:6.2f})"
        f"  {line.function}"
        for line in lines
    )


# -- the documentation -------------------------------------------------------------


def _rst_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [headers, *rows]:
        out.append(f"   * - {row[0] or '..'}")
        out.extend(f"     - {cell or ' '}" for cell in row[1:])
    out.append("")
    return out


def rst(report: Report) -> str:
    m = report.machine
    s = report.settings
    lines = [
        BEGIN,
        "",
        f"Run of {m['date']} with ``benchmarks/run.py{s['argv']}``.",
        f"Machine: {m['machine']}; {m['python']}.",
        f"Versions: {m['versions']}.",
        f"{s['rounds']} interleaved rounds of about {s['round_ms']:g} ms per"
        " scenario, garbage collector off inside timed loops.",
        "",
        ".. image:: _static/benchmark.png",
        "   :alt: Cost of each scenario as a ratio to its framework's bare view",
        "",
    ]
    lines += _rst_table(
        [
            "scenario",
            "framework",
            "µs/request",
            "spread",
            "ratio",
            "to",
            "target",
            "met",
        ],
        [[c.replace("*", r"\*") for c in row] for row in scenario_rows(report)],
    )
    peer_rows = report.peer_rows()
    if peer_rows:
        lines += [
            "Against the peers, each as a ratio to its own framework's bare view:",
            "",
        ]
        lines += _rst_table(
            ["ours", "ratio", "peer", "ratio", "ahead"],
            [
                [o, f"{a:.2f}x", p, f"{b:.2f}x", "yes" if ok else "**no**"]
                for o, a, p, b, ok in peer_rows
            ],
        )
    if report.hostile:
        lines += ["Hostile headers (a PUT whose ``If-Match`` matches nothing):", ""]
        lines += _rst_table(
            ["header", "limit", "status", "µs/request", "µs/KB", "≤ 5 ms"],
            [
                [
                    label,
                    "8192" if config == "default" else "4 MiB",
                    str(status),
                    f"{us:.0f}",
                    f"{per_kb:.2f}",
                    "yes" if ok else "**no**",
                ]
                for label, config, status, us, per_kb, ok in report.hostile_rows()
            ],
        )
    if report.server:
        lines += [
            "Under gunicorn (2 sync workers on 127.0.0.1, 4 client threads on"
            " the same machine, a new connection per request):",
            "",
        ]
        lines += _rst_table(
            ["scenario", "requests/s", "ratio to bare_200", "requests"],
            server_rows(report.server, "bare_200"),
        )
    if report.notes_server:
        lines += [
            "The notes example app (``examples/notes``, SQLite in WAL mode,"
            " ``versioned()`` and ``last_modified_of()``) under gunicorn, 2 sync"
            " workers, the same client: a GET, a conditional GET answered 304,"
            " and a PUT with ``If-Match`` chained on the previous response:",
            "",
        ]
        lines += _rst_table(
            ["scenario", "requests/s", "ratio to notes_200", "requests"],
            server_rows(report.notes_server, "notes_200"),
        )
    verdicts = report.verdicts()
    met = sum(ok for _, ok in verdicts)
    lines += [f"Verdict: {met} of {len(verdicts)} targets met.", ""]
    lines += [f"- {'met' if ok else '**missed**'}: {text}" for text, ok in verdicts]
    lines.append("")
    if report.profiles:
        lines += [
            "Where the time goes in each missed target: the functions in which"
            " one request of the scenario spends more of its own time than its"
            " baseline does (cProfile; its overhead inflates the absolute"
            " figures, the ranking is what counts).",
            "",
        ]
        for name, profile in report.profiles.items():
            lines += [f"``{name}``::", ""]
            lines += ["   " + line for line in profile_text(profile).splitlines()]
            lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_docs(report: Report) -> None:
    page = DOCS_PAGE.read_text(encoding="utf-8")
    if BEGIN not in page or END not in page:
        raise SystemExit(f"{DOCS_PAGE} has no {BEGIN} / {END} markers.")
    before, rest = page.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    DOCS_PAGE.write_text(before + rst(report) + after, encoding="utf-8")
    print(f"\nwrote {DOCS_PAGE.relative_to(ROOT)}")


COLOURS = {
    "flask-preconditions": "#2a6fb0",
    "hand-written": "#8c8c8c",
    "werkzeug": "#e39b2d",
    "flask-smorest": "#5aa05a",
    "django": "#0c4b33",
    "flask": "#cccccc",
}


def chart(report: Report, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    limits = {t.scenario: t.limit for t in scenarios.TARGETS if t.versus != "floor_304"}
    floor = report.timings.get("floor_304")
    groups = {"read": [], "write": []}  # type: dict[str, list[str]]
    for name, timing in report.timings.items():
        if timing.scenario.baseline is not None:
            groups[timing.scenario.kind].append(name)
    figure, axes = plt.subplots(
        1, 2, figsize=(12, 6.5), gridspec_kw={"width_ratios": [1, 1]}
    )
    for axis, (kind, names) in zip(axes, groups.items(), strict=True):
        names = names[::-1]
        ratios = [report.ratio(n) for n in names]
        colours = [COLOURS[report.timings[n].scenario.framework] for n in names]
        axis.barh(names, ratios, color=colours)
        for y, (name, ratio) in enumerate(zip(names, ratios, strict=True)):
            axis.text(ratio + 0.02, y, f"{ratio:.2f}x", va="center", fontsize=8)
            if name in limits:
                axis.plot(
                    [limits[name]] * 2, [y - 0.4, y + 0.4], color="#c0392b", linewidth=2
                )
            if name == "version_304" and floor is not None:
                limit = 1.10 * report.ratio("floor_304")
                axis.plot([limit] * 2, [y - 0.4, y + 0.4], color="#c0392b", linewidth=2)
        axis.axvline(1.0, color="black", linewidth=0.8)
        axis.set_title(
            "reads: ratio to the framework's bare GET"
            if kind == "read"
            else "writes: ratio to the framework's bare PUT",
            fontsize=10,
        )
        axis.set_xlim(0, max(ratios) * 1.15)
        axis.tick_params(axis="y", labelsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    handles.append(plt.Line2D([0], [0], color="#c0392b", linewidth=2))
    figure.legend(
        handles,
        [*COLOURS, "target"],
        loc="lower center",
        ncol=7,
        fontsize=8,
        frameon=False,
    )
    figure.suptitle(
        f"flask-preconditions benchmark, {report.machine['date']} (lower is better)",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0.05, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"wrote {path.relative_to(ROOT)}")


# -- main --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few short rounds, no server part: a minute at most",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify every scenario's status and headers before"
        " timing (as every run does), print each check, and exit"
        " non-zero if any fails",
    )
    parser.add_argument(
        "--server",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the gunicorn part (default: on unless --quick)",
    )
    parser.add_argument(
        "--peers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="include the installed peers",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="rewrite the results in docs/performance.rst and the chart from this run",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile every target scenario, not only missed ones",
    )
    parser.add_argument("--rounds", type=int, help="rounds of interleaved batches")
    parser.add_argument(
        "--round-ms", type=float, help="milliseconds per scenario per round"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rounds = args.rounds or (5 if args.quick else 25)
    round_ms = args.round_ms or (6.0 if args.quick else 40.0)
    warmup = 30 if args.quick else 300
    server_part = not args.quick if args.server is None else args.server

    skipped = []
    peers = []
    for peer in scenarios.PEERS:
        if args.peers and scenarios.peer_available(peer):
            peers.append(peer)
        else:
            why = "--no-peers" if not args.peers else "not installed"
            skipped.append(
                f"{peer} scenarios ({why}; pip install -r benchmarks/requirements.txt)"
            )
            print(f"skipping the {peer} scenarios: {why}")

    store = Store()
    all_scenarios = scenarios.build(store, peers=peers)
    failures = []
    for scenario in all_scenarios:
        scenario.prepare()
        problems = harness.verify(scenario, count=3)
        failures += [f"{scenario.name}: {p}" for p in problems]
        if args.check:
            status = "ok" if not problems else "FAILED: " + "; ".join(problems)
            print(
                f"check {scenario.name:26} {scenario.method:4}"
                f" {scenario.expect_status} {status}"
            )

    print(f"timing {len(all_scenarios)} scenarios:", end=" ", flush=True)
    timings, round_failures = harness.measure(
        all_scenarios,
        rounds=rounds,
        round_seconds=round_ms / 1000,
        warmup_calls=warmup,
        progress=lambda text: print(".", end="", flush=True),
    )
    print()
    failures += round_failures
    report = Report(
        timings,
        failures,
        skipped,
        {
            "rounds": rounds,
            "round_ms": round_ms,
            "warmup": warmup,
            "argv": "".join(f" {a}" for a in (argv or sys.argv[1:])),
        },
    )

    print("hostile headers ...", flush=True)
    report.hostile = hostile.run(quick=args.quick)
    report.failures += report.hostile_failures()

    if server_part:
        import server

        print("gunicorn ...", flush=True)
        report.server = server.run(
            rounds=2 if args.quick else 3, requests=400 if args.quick else 1600
        )
        report.failures += server.failures(report.server)
        print("gunicorn, the notes example ...", flush=True)
        report.notes_server = server.run_notes(
            rounds=2 if args.quick else 3, requests=400 if args.quick else 1600
        )
        report.failures += server.failures(report.notes_server)
    else:
        report.skipped.append("the gunicorn part (--server to run it)")

    by_name = {s.name: s for s in all_scenarios}
    for name, versus, _, _, met in report.target_rows():
        if (not met and not args.quick) or args.profile:
            report.profiles[name] = harness.profile_difference(
                by_name[name], by_name[versus], calls=300 if args.quick else 3000
            )

    print_report(report)
    if args.write_docs:
        write_docs(report)
        try:
            chart(report, CHART)
        except ImportError:
            print("matplotlib is not installed: the chart was not redrawn")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
