"""Benchmark flask-preconditions against plain Flask and its peers.

::

    python benchmarks/run.py                  # everything, gunicorn included
    python benchmarks/run.py --quick          # a few seconds, no gunicorn
    python benchmarks/run.py --quick --check  # what the test suite runs
    python benchmarks/run.py --write-docs     # also rewrite the results that
                                              # docs/performance.rst includes

Every figure is a median µs per request and a ratio to a baseline measured in
the same run (``harness.py`` says how). Every answer timed is checked too; a
wrong one makes the run exit non-zero. The peers (flask-smorest, Django) and
matplotlib for the chart come from ``benchmarks/requirements.txt``; a peer
that is not installed is skipped, and said so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import logging
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

# The apps without SECRET_KEY say at their first request that their tags are
# unkeyed: true, and measured on purpose next to the keyed ones.
logging.getLogger("flask_preconditions").setLevel(logging.ERROR)

RESULTS = ROOT / "docs" / "_generated" / "benchmark-results.inc"
CHART = ROOT / "docs" / "_static" / "benchmark.png"
DISTRIBUTIONS = ["flask-preconditions", "flask", "werkzeug", "flask-smorest"]
DISTRIBUTIONS += ["marshmallow", "django", "gunicorn"]


class Table(t.NamedTuple):
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""

    def text(self) -> str:
        widths = [max(map(len, c)) for c in zip(self.headers, *self.rows, strict=True)]
        lines = [self.headers, ["-" * w for w in widths], *self.rows]
        table = "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )
        return f"{self.title}:\n\n{table}\n\n{self.note}".rstrip()

    def rst(self) -> str:
        lines = [f".. list-table:: {self.title}", "   :header-rows: 1", ""]
        for first, *rest in [self.headers, *self.rows]:
            lines.append(f"   * - {first}")
            lines += [f"     - {cell}".rstrip() for cell in rest]
        return "\n".join([*lines, "", self.note]).rstrip() + "\n"


def environment() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    models = [line for line in text.splitlines() if "model name" in line]
    cpu = models[0].split(":", 1)[1].strip() if models else cpu
    installed = {
        d.metadata["Name"].lower(): d.version
        for d in importlib.metadata.distributions()
    }
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()};"
        f" {platform.python_implementation()} {platform.python_version()}; "
        + ", ".join(f"{d} {installed.get(d, 'not installed')}" for d in DISTRIBUTIONS)
    )


def in_process(runnable: list[harness.Scenario]) -> list[Table]:
    by_name = {s.name: s for s in runnable}

    def ratio(s: harness.Scenario) -> str:
        if s.baseline is None:
            return "1 (baseline)"
        return f"{harness.ratio(s, by_name[s.baseline]):.2f}x"

    every = Table(
        "In process: µs per request, and the ratio to the baseline of the same run",
        ["scenario", "what", "µs/request", "spread", "ratio", "to"],
        [
            [
                s.name,
                s.what,
                f"{harness.median_us(s):.1f}",
                f"±{harness.spread_us(s):.1f}",
                ratio(s),
                s.baseline or "",
            ]
            for s in runnable
        ],
    )
    # The same ratios side by side: a column per app, a row per request.
    rows = [r for r in scenarios.ROWS if r.name in by_name and not r.options]
    rows = [r for r in rows if by_name[r.name].baseline]
    columns = list(dict.fromkeys(r.app for r in rows))
    cells = {(r.request, r.status, r.app): ratio(by_name[r.name]) for r in rows}
    requests = sorted(
        {(r.request, r.status) for r in rows}, key=lambda r: (r[0][:3], r[1])
    )
    side_by_side = Table(
        "Side by side: each a ratio to its own framework's plain view",
        ["request → answer", *columns],
        [
            [
                f"{request} → {status}",
                *(cells.get((request, status, a), "") for a in columns),
            ]
            for request, status in requests
        ],
    )
    return [every, side_by_side]


def hostile_table(cases: hostile.Cases) -> Table:
    rows = [
        [
            label,
            *(f"{a[n][0]} {a[n][1]:.0f}" for n in hostile.LIMITS),
            f"{a['4 MiB'][1] / len(hostile.VALUES[label]) * 1024:.2f}",
        ]
        for label, a in cases.items()
    ]
    growth = "; ".join(f"{s} {hostile.growth(cases, s):.2f}x" for s in hostile.SHAPES)
    return Table(
        "Hostile headers: a PUT whose If-Match matches nothing, status and µs"
        " with the default limit (8192) and with the limit raised to 4 MiB",
        ["header", *(f"limit {name}" for name in hostile.LIMITS), "µs/KB"],
        rows,
        "With the raised limit, the marginal µs per KB from 256 KB to 1 MB over"
        f" that from 64 to 256 KB (1x: linear, 4x: quadratic): {growth}.",
    )


def server_table(results: list[t.Any]) -> Table:
    rate = {r.name: r.per_second for r in results}
    return Table(
        "Under gunicorn, 2 sync workers on 127.0.0.1, 4 client threads on the"
        " same machine, a connection per request: requests per second",
        ["scenario", "requests/s", "ratio", "to", "requests"],
        [
            [
                r.name,
                f"{r.per_second:.0f}",
                f"{r.per_second / rate[r.baseline]:.2f}x" if r.baseline else "1",
                r.baseline or "",
                str(sum(r.statuses.values())),
            ]
            for r in results
        ],
    )


COLOURS = {
    "flask-preconditions": "#2a6fb0",
    "hand-written": "#8c8c8c",
    "werkzeug": "#e39b2d",
    "flask-smorest": "#5aa05a",
    "django": "#0c4b33",
}


def chart(runnable: list[harness.Scenario], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    by_name = {s.name: s for s in runnable}
    figure, axes = plt.subplots(1, 2, figsize=(12, 7))
    for axis, method in zip(axes, ("GET", "PUT"), strict=True):
        shown = [s for s in runnable[::-1] if s.baseline and s.method == method]
        ratios = [harness.ratio(s, by_name[t.cast(str, s.baseline)]) for s in shown]
        colours = [COLOURS[s.spec.framework] for s in shown]
        axis.barh([s.name for s in shown], ratios, color=colours)
        for y, value in enumerate(ratios):
            axis.text(value + 0.02, y, f"{value:.2f}x", va="center", fontsize=8)
        axis.axvline(1.0, color="black", linewidth=0.8)
        axis.set_xlim(0, max(ratios) * 1.15)
        axis.set_title(
            f"{method}: ratio to the framework's plain {method}", fontsize=10
        )
        axis.tick_params(axis="y", labelsize=8)
    handles = [Patch(color=colour, label=name) for name, colour in COLOURS.items()]
    figure.legend(handles=handles, loc="lower center", ncol=5, frameon=False)
    figure.suptitle(f"{title} (lower is cheaper)", fontsize=11)
    figure.tight_layout(rect=(0, 0.05, 1, 0.97))
    figure.savefig(CHART, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="short rounds, no gunicorn")
    add("--check", action="store_true", help="print the check of every scenario")
    add("--server", action=argparse.BooleanOptionalAction, help="run gunicorn")
    add("--peers", action=argparse.BooleanOptionalAction, default=True)
    add("--write-docs", action="store_true", help=f"rewrite {RESULTS.name}, the chart")
    add("--rounds", type=int, help="rounds of interleaved batches")
    add("--round-ms", type=float, help="ms per scenario per round")
    args = parser.parse_args(argv)
    started, load = time.perf_counter(), os.getloadavg()[0]
    rounds = args.rounds or (5 if args.quick else 25)
    round_ms = args.round_ms or (6.0 if args.quick else 40.0)

    peers = []
    for peer in scenarios.PEERS:
        if args.peers and scenarios.peer_available(peer):
            peers.append(peer)
        else:
            why = "not installed" if args.peers else "--no-peers"
            print(f"skipping the {peer} scenarios: {why}")
    runnable = scenarios.build(Store(), peers=peers)
    failures = []
    for scenario in runnable:
        scenario.prepare()
        problems = harness.verify(scenario)
        failures += [f"{scenario.name}: {p}" for p in problems]
        if args.check:
            verdict = "; ".join(problems) or "ok"
            name, request, status = scenario.name, scenario.request, scenario.status
            print(f"check {name:30} {request:22} {status} {verdict}")

    print(f"timing {len(runnable)} scenarios", end="", flush=True)
    for round_failures in harness.measure(
        runnable,
        rounds=rounds,
        round_seconds=round_ms / 1000,
        warmup=30 if args.quick else 300,
    ):
        failures += round_failures
        print(".", end="", flush=True)
    tables = in_process(runnable)
    print("\nhostile headers ...", flush=True)
    cases = hostile.run(quick=args.quick)
    failures += hostile.failures(cases)
    tables.append(hostile_table(cases))
    if not args.quick if args.server is None else args.server:
        import server

        print("gunicorn ...", flush=True)
        results = server.run(rounds=3, requests=400 if args.quick else 1600)
        failures += server.failures(results)
        tables.append(server_table(results))

    command = " ".join(["benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    when = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    summary = (
        f"Run of {when} with ``{command}``, {rounds} interleaved rounds of about"
        f" {round_ms:g} ms per scenario, on {environment()}; the load average"
        f" was {load:.1f} when it started."
    )
    print(f"\n{summary}", *(table.text() for table in tables), sep="\n\n")
    if failures:
        print(f"\n{len(failures)} CHECKS FAILED:", *failures, sep="\n  ")
    else:
        print("\nEvery response was checked and correct.")
    if args.write_docs:
        RESULTS.parent.mkdir(exist_ok=True)
        body = "\n".join([summary + "\n", *(table.rst() for table in tables)])
        RESULTS.write_text(f".. Written by {command}\n\n{body}", encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}")
        try:
            chart(runnable, f"flask-preconditions benchmark, {when}")
            print(f"wrote {CHART.relative_to(ROOT)}")
        except ImportError:
            print("matplotlib is not installed: the chart was not redrawn")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
