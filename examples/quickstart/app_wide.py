"""Quickstart 3: protect the whole application."""

from flask import Flask
from flask import request

from flask_preconditions import Preconditions

app = Flask(__name__)
Preconditions(app)  # app-wide protection is the default

profile = {"name": "Ada"}


@app.route("/profile", methods=["GET", "PUT"])
def profile_view():
    if request.method == "PUT":
        profile.update(request.get_json())
    return profile


if __name__ == "__main__":
    from try_it import try_it

    try_it(app, "/profile")
