"""What hostile precondition headers cost: huge ``If-Match`` lists and values.

Every case is a PUT to the version-validated item whose ``If-Match`` matches
nothing (so the answer is 412, or 431 when the value is over the limit) and is
timed per request. With the default ``PRECONDITIONS_MAX_HEADER_LENGTH`` (8192)
longer values are refused with 431 before any parsing; a second app with the
limit raised to 4 MiB shows how the cost of parsing grows with the size.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
import typing as t

import flask_apps
from harness import _environ
from harness import call
from harness import run_batch
from harness import WSGIApp
from items import Store
from items import UPDATE_BODY

RAISED_LIMIT = 4 * 1024 * 1024
ENTRY_COUNTS = (10, 100, 1_000, 10_000)
SIZES_KB = (1, 4, 16, 64, 256, 1024)
LIMIT_MS = 5.0


def _tag(number: int) -> str:
    return f'"{number:032x}"'


def entity_tag_list(count: int) -> str:
    """``count`` strong entity-tags of 32 hex digits, none of them current."""
    return ", ".join(_tag(n) for n in range(count))


def value_of_size(shape: str, size: int) -> str:
    """A value of exactly ``size`` characters of one of three shapes."""
    if shape == "list":
        entry = len(_tag(0)) + 2
        value = entity_tag_list(size // entry + 1)[:size]
        # Cut inside a tag: end on a complete one, padded with spaces.
        return value[: value.rfind('"') + 1].ljust(size)
    if shape == "malformed":
        # Werkzeug's parse_etags is quadratic on this (see conditions.py).
        return ('"a"x, ' * (size // 6 + 1))[:size]
    if shape == "opaque":
        return '"' + "x" * (size - 2) + '"'
    raise ValueError(shape)


@dataclasses.dataclass
class Case:
    label: str
    config: str
    size: int
    status: int
    microseconds: float

    @property
    def us_per_kb(self) -> float:
        return self.microseconds / (self.size / 1024)


def _time(app: WSGIApp, path: str, value: str, repeats: int) -> tuple[int, float]:
    template = _environ(path, "PUT", {"If-Match": value}, UPDATE_BODY)
    status = call(app, dict(template, **{"wsgi.input": _input()})).status
    # Small values are cheap: more requests per sample keep the clock honest.
    batch = 3 if len(value) > 32 * 1024 else 30
    samples = []
    for _ in range(repeats):
        environs = [dict(template, **{"wsgi.input": _input()}) for _ in range(batch)]
        samples.append(run_batch(app, environs) / batch)
    return status, statistics.median(samples) / 1000


def _input() -> t.Any:
    import io

    return io.BytesIO(UPDATE_BODY)


def run(*, quick: bool) -> list[Case]:
    store = Store(range(1, 3))
    apps = {
        "default": flask_apps.version_app(store),
        "raised": flask_apps.version_app(
            store, PRECONDITIONS_MAX_HEADER_LENGTH=RAISED_LIMIT
        ),
    }
    repeats = 3 if quick else 7
    cases = []
    start = time.perf_counter()
    for config, app in apps.items():
        for count in ENTRY_COUNTS:
            value = entity_tag_list(count)
            status, us = _time(app, "/items/1", value, repeats)
            cases.append(
                Case(f"If-Match: {count:,} entries", config, len(value), status, us)
            )
        for shape in ("list", "malformed", "opaque"):
            for kb in SIZES_KB:
                value = value_of_size(shape, kb * 1024)
                status, us = _time(app, "/items/1", value, repeats)
                cases.append(
                    Case(f"If-Match: {kb:,} KB {shape}", config, len(value), status, us)
                )
    if time.perf_counter() - start > 120:
        raise RuntimeError("the hostile-header cases took over two minutes")
    return cases


def linear(cases: list[Case], config: str, shape: str) -> float:
    """How much the marginal cost per KB grows from the 64-256 KB step to the
    256 KB-1 MB step (1.0: linear; quadratic parsing would give about 4).

    Marginal costs below a noise floor of 0.05 µs per KB count as that floor,
    so a shape that is refused at a fixed cost (flat) reads as linear rather
    than as a ratio of two noises.
    """
    by_size = {
        c.size: c.microseconds
        for c in cases
        if c.config == config and c.label.endswith(f" {shape}")
    }
    floor = 0.05
    kb64, kb256, kb1024 = (by_size[kb * 1024] for kb in (64, 256, 1024))
    lower = max((kb256 - kb64) / (256 - 64), floor)
    upper = max((kb1024 - kb256) / (1024 - 256), floor)
    return upper / lower
