"""The extension objects of the notes application, shared by its modules."""

from __future__ import annotations

from flask_preconditions import Preconditions
from flask_preconditions.sqlalchemy import SQLAlchemyPreconditions

pre = Preconditions()
conflicts = SQLAlchemyPreconditions()
