"""Conditional requests for Flask: ETags, 304, 412 and 428, per RFC 9110 §13.

Prevents lost updates by requiring that writes say which version of a resource
they modify, and saves work by answering conditional reads with 304.
"""

from __future__ import annotations

import importlib
import typing as t

from .conditions import Decision
from .conditions import evaluate
from .conditions import Outcome
from .conditions import Validators
from .decisions import Cause
from .headers import parse_entity_tags
from .problems import PreconditionFailed
from .problems import PreconditionHeaderTooLarge
from .problems import PreconditionRequired
from .problems import PROBLEM_MEDIA_TYPE
from .problems import problem_response
from .problems import ProblemDetailsMixin
from .problems import ResourceBusy
from .problems import ServiceUnavailableProblem
from .validators import etag_for_body
from .validators import etag_for_version
from .views import ResourceSpec

if t.TYPE_CHECKING:
    from .decorators import ETagDecorator
    from .extension import Preconditions
    from .versions import Checked
    from .versions import expected_etag
    from .versions import expected_version
    from .versions import set_new_version

# The Flask glue is imported on first use, so that the pure evaluation in
# flask_preconditions.conditions can be imported without importing Flask.
_LAZY_NAMES = {
    "Checked": ".versions",
    "ETagDecorator": ".decorators",
    "expected_etag": ".versions",
    "expected_version": ".versions",
    "Preconditions": ".extension",
    "set_new_version": ".versions",
}


def __getattr__(name: str) -> t.Any:
    module = _LAZY_NAMES.get(name)
    if module is not None:
        return getattr(importlib.import_module(module, __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "Cause",
    "Checked",
    "Decision",
    "ETagDecorator",
    "Outcome",
    "PreconditionFailed",
    "PreconditionHeaderTooLarge",
    "PreconditionRequired",
    "Preconditions",
    "ProblemDetailsMixin",
    "ResourceBusy",
    "ResourceSpec",
    "ServiceUnavailableProblem",
    "Validators",
    "etag_for_body",
    "etag_for_version",
    "evaluate",
    "expected_etag",
    "expected_version",
    "parse_entity_tags",
    "problem_response",
    "set_new_version",
]
