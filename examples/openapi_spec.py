"""Document an application's conditional requests in an OpenAPI 3.1 spec.

Run ``python examples/openapi_spec.py [module:app]`` to print the spec of an
app as JSON: ``module:create_app()`` calls an application factory, and the
default is the quickstart's ``decorated:app``.
"""

import importlib
import json
import pathlib
import sys

from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin

from flask_preconditions.openapi import PreconditionsPlugin


def build_spec(app, title="Notes API", openapi_version="3.1.0"):
    spec = APISpec(
        title=title,
        version="1.0",
        openapi_version=openapi_version,
        plugins=[FlaskPlugin(), PreconditionsPlugin(app)],
    )
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
            spec.path(
                view=app.view_functions[rule.endpoint],
                app=app,
                operations={
                    method.lower(): {"responses": {"200": {"description": "OK"}}}
                    for method in methods
                },
                parameters=[
                    {"name": name, "in": "path", "schema": {"type": "string"}}
                    for name in sorted(rule.arguments)
                ],
            )
    return spec


def load_app(target):
    module_name, _, name = target.partition(":")
    found = getattr(importlib.import_module(module_name), name.removesuffix("()"))
    return found() if name.endswith("()") else found


if __name__ == "__main__":
    # Like ``flask --app``: modules from the working directory, and the
    # quickstart apps.
    sys.path[:0] = [".", str(pathlib.Path(__file__).parent / "quickstart")]
    app = load_app((sys.argv[1:] or ["decorated:app"])[0])
    print(json.dumps(build_spec(app).to_dict(), indent=2))
