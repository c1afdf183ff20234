"""Quickstart 2: protect every view of a blueprint."""

from flask import Blueprint
from flask import Flask
from flask import request

from flask_preconditions import Preconditions

pre = Preconditions(app_wide=False)
api = Blueprint("api", __name__)
pre.protect(api)  # before register_blueprint

settings = {"theme": "light"}


@api.route("/settings", methods=["GET", "PUT"])
def settings_view():
    if request.method == "PUT":
        settings.update(request.get_json())
    return settings


def create_app():
    app = Flask(__name__)
    pre.init_app(app)
    app.register_blueprint(api, url_prefix="/api")
    return app


if __name__ == "__main__":
    from try_it import try_it

    try_it(create_app(), "/api/settings")
