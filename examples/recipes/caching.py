"""Recipe: Flask-Caching and preconditions on the same view."""

from flask import Flask
from flask import request
from flask_caching import Cache

from flask_preconditions import Preconditions

app = Flask(__name__)
cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})
pre = Preconditions(app, app_wide=False)

articles = {1: {"body": "First draft", "version": 1}}


def article_version(article_id):
    article = articles.get(article_id)
    return None if article is None else article["version"]


def cache_key():
    # The version is part of the key: a write makes a new entry, so the cache
    # can never serve the old body with the new ETag.
    article_id = request.view_args["article_id"]
    return f"article/{article_id}/v{article_version(article_id)}"


@app.route("/articles/<int:article_id>", methods=["GET", "PUT"])
@pre.etag(article_version)  # outside the cache: 304 and 412 skip it entirely
@cache.cached(key_prefix=cache_key, unless=lambda: request.method != "GET")
def article(article_id):
    if request.method == "PUT":
        articles[article_id]["body"] = request.get_json()["body"]
        articles[article_id]["version"] += 1
    return {"body": articles[article_id]["body"]}
