"""What hostile precondition headers cost: huge ``If-Match`` values.

Each case is a PUT whose ``If-Match`` matches nothing (412, or 431 over
``PRECONDITIONS_MAX_HEADER_LENGTH``), with the default limit and with it
raised to 4 MiB to show how parsing grows; the write lock is off.
"""

from __future__ import annotations

import io
import statistics

import apps
from flask import Flask
from harness import call
from harness import environ
from harness import run_batch
from items import Store
from items import UPDATE_BODY

LIMITS = {"8192": None, "4 MiB": 4 * 1024 * 1024}
SIZES_KB = (1, 4, 16, 64, 256, 1024)
SHAPES = ("list", "malformed", "opaque")
#: Label -> limit name -> (status, µs per request).
Cases = dict[str, dict[str, tuple[int, float]]]


def value_of_size(shape: str, size: int) -> str:
    """A value of exactly ``size`` characters of one of three shapes."""
    if shape == "list":
        value = ", ".join(f'"{n:032x}"' for n in range(size // 34 + 1))[:size]
        # End on a complete tag, padded with spaces.
        return value[: value.rfind('"') + 1].ljust(size)
    if shape == "malformed":
        # The input on which Werkzeug's parse_etags is quadratic.
        return ('"a"x, ' * (size // 6 + 1))[:size]
    return '"' + "x" * (size - 2) + '"'


VALUES = {
    f"If-Match: {kb:,} KB {shape}": value_of_size(shape, kb * 1024)
    for shape in SHAPES
    for kb in SIZES_KB
}


def _time(app: Flask, value: str, repeats: int) -> tuple[int, float]:
    template = environ("/items/1", "PUT", {"If-Match": value})

    def fresh() -> dict[str, object]:
        return dict(template, **{"wsgi.input": io.BytesIO(UPDATE_BODY)})

    # Small values are cheap: more requests per sample keep the clock honest.
    batch = 3 if len(value) > 32 * 1024 else 30
    samples = [run_batch(app, [fresh() for _ in range(batch)]) for _ in range(repeats)]
    return call(app, fresh()).status, statistics.median(samples) / batch / 1000


def run(*, quick: bool) -> Cases:
    store = Store(range(1, 2))
    cases: Cases = {label: {} for label in VALUES}
    for name, limit in LIMITS.items():
        app = apps.version(store, max_header_length=limit, lock="off")
        for label, value in VALUES.items():
            cases[label][name] = _time(app, value, 3 if quick else 7)
    return cases


def failures(cases: Cases) -> list[str]:
    """Every answer is a 4xx, and a 431 over the default limit."""
    return [
        f"hostile {label} ({name}): {status}"
        for label, answers in cases.items()
        for name, (status, _) in answers.items()
        if not 400 <= status < 500
        or (name == "8192" and len(VALUES[label]) > 8192 and status != 431)
    ]


def growth(cases: Cases, shape: str) -> float:
    """The marginal cost per KB from 256 KB to 1 MB over that from 64 to 256 KB,
    with the raised limit: about 1 when linear, about 4 when quadratic.

    Marginal costs under a floor of 0.05 µs per KB count as the floor, so a
    flat cost reads as linear rather than as a ratio of two noises.
    """
    kb64, kb256, kb1024 = (
        cases[f"If-Match: {kb:,} KB {shape}"]["4 MiB"][1] for kb in (64, 256, 1024)
    )
    lower = max((kb256 - kb64) / (256 - 64), 0.05)
    return max((kb1024 - kb256) / (1024 - 256), 0.05) / lower
