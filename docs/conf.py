"""Sphinx configuration for the flask-preconditions documentation."""

from __future__ import annotations

import importlib.metadata

project = "flask-preconditions"
author = "The flask-preconditions developers"
copyright = f"2026, {author}"

try:
    release = importlib.metadata.version(project)
except importlib.metadata.PackageNotFoundError:
    # Building from a checkout that was never installed (pip install -e .).
    release = "0.1.0.dev0"
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    # Only for including CHANGELOG.md in changes.rst.
    "myst_parser",
]
# The build runs without network access, so intersphinx (which downloads other
# projects' inventories) stays off; link to Flask and Werkzeug docs explicitly.

source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]

autodoc_typehints = "description"
autodoc_member_order = "bysource"

html_theme = "alabaster"
html_title = f"{project} {release}"
