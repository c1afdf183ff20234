"""The report of the conditional-request battery: exchanges and results.

.. versionadded:: 0.2
"""

from __future__ import annotations

import dataclasses
import http


def status_text(code: int) -> str:
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


@dataclasses.dataclass(frozen=True)
class Exchange:
    """One request of the battery and its response.

    ``str(exchange)`` shows both in the style of ``curl -v``.

    .. versionadded:: 0.2
    """

    #: The request: its method, URL, the headers the battery set, and content.
    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    #: The response: its status, every header, and content.
    status_code: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes

    def header(self, name: str) -> str | None:
        """A response header's value, or ``None``."""
        name = name.lower()
        for key, value in self.response_headers:
            if key.lower() == name:
                return value
        return None

    def __str__(self) -> str:
        lines = [f"> {self.method} {self.url}"]
        lines.extend(f"> {name}: {value}" for name, value in self.request_headers)
        if self.request_body:
            lines.append(f"> {excerpt(self.request_body)}")
        lines.append(f"< {status_text(self.status_code)}")
        lines.extend(
            f"< {name}: {value}"
            for name, value in self.response_headers
            if name.lower() not in ("date", "server")
        )
        if self.response_body:
            lines.append(f"< {excerpt(self.response_body)}")
        return "\n".join(lines)


def excerpt(content: bytes, limit: int = 300) -> str:
    text = " ".join(content.decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[:limit] + "…"


@dataclasses.dataclass
class CheckResult:
    """The outcome of one check of the battery.

    .. versionadded:: 0.2
    """

    #: What the check expects, as a sentence.
    name: str
    #: The sections of the RFCs it checks.
    sections: str
    #: ``"passed"``, ``"failed"`` or ``"skipped"``.
    outcome: str = "passed"
    #: What was wrong, or why it was skipped, one sentence each.
    problems: list[str] = dataclasses.field(default_factory=list)
    #: The requests it sent, in order.
    exchanges: list[Exchange] = dataclasses.field(default_factory=list)

    def fail(self, problem: str) -> None:
        """Record what was wrong; the check has failed."""
        self.outcome = "failed"
        self.problems.append(problem)

    def skip(self, reason: str) -> None:
        """Record why the check did not run."""
        self.outcome = "skipped"
        self.problems.append(reason)


@dataclasses.dataclass
class BatteryReport:
    """The results of :func:`check_conditional_requests`.

    ``str(report)`` lists every check, with the requests and responses of those
    that failed; :meth:`raise_for_failures` raises it as an
    :class:`AssertionError` unless :attr:`ok`.

    .. versionadded:: 0.2
    """

    #: The URL of the resource checked.
    url: str
    #: Every check, in the order it ran.
    results: list[CheckResult]

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed, in the order they ran."""
        return [result for result in self.results if result.outcome == "failed"]

    @property
    def ok(self) -> bool:
        """Whether no check failed (skipped ones do not count)."""
        return not self.failures

    def raise_for_failures(self) -> None:
        """Raise :class:`AssertionError` with the report unless :attr:`ok`."""
        __tracebackhide__ = True
        if not self.ok:
            raise AssertionError(str(self))

    def __str__(self) -> str:
        counts = {
            outcome: sum(r.outcome == outcome for r in self.results)
            for outcome in ("passed", "failed", "skipped")
        }
        lines = [
            f"Conditional requests to {self.url}: "
            + ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
        ]
        for result in self.results:
            label = {"passed": "passed ", "failed": "FAILED ", "skipped": "skipped"}
            lines.append(f"  {label[result.outcome]} {result.name} ({result.sections})")
            lines.extend(f"            - {problem}" for problem in result.problems)
            if result.outcome == "failed":
                for exchange in result.exchanges:
                    lines.extend(
                        f"              {line}" for line in str(exchange).splitlines()
                    )
                    lines.append("")
        return "\n".join(lines).rstrip()
