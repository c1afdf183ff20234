"""Recipe: a Flask-SQLAlchemy model with a version column.

The version function gives the ETag; the write is an UPDATE conditional on
the version that was checked, so two requests that passed the check with the
same ETag cannot both write.
"""

from flask import Flask
from flask import request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from flask_preconditions import expected_version
from flask_preconditions import PreconditionFailed
from flask_preconditions import Preconditions
from flask_preconditions import set_new_version

db = SQLAlchemy()
pre = Preconditions(app_wide=False)


class Note(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]
    version: Mapped[int] = mapped_column(default=1)


def note_version(note_id):
    return db.session.scalar(db.select(Note.version).where(Note.id == note_id))


def create_app(database_url="sqlite://"):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    db.init_app(app)
    pre.init_app(app)
    app.add_url_rule(
        "/notes/<int:note_id>", view_func=note, methods=["GET", "PUT", "DELETE"]
    )
    with app.app_context():
        db.create_all()
    return app


@pre.etag(note_version)
def note(note_id):
    if request.method in ("GET", "HEAD"):  # Flask routes HEAD here too
        return {"text": db.session.get(Note, note_id).text}
    if request.method == "PUT":
        statement = (
            update(Note)
            .where(Note.id == note_id, Note.version == expected_version())
            .values(text=request.get_json()["text"], version=Note.version + 1)
        )
    else:
        statement = db.delete(Note).where(
            Note.id == note_id, Note.version == expected_version()
        )
    if db.session.execute(statement).rowcount != 1:
        db.session.rollback()
        raise PreconditionFailed()  # another write won the race
    db.session.commit()
    if request.method == "DELETE":
        return "", 204
    # The response's ETag names this write, even if another follows at once.
    set_new_version(expected_version() + 1)
    return {"text": request.get_json()["text"]}
