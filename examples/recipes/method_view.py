"""Recipe: a MethodView whose methods are protected one by one."""

from flask import Flask
from flask import request
from flask.views import MethodView

from flask_preconditions import Preconditions

app = Flask(__name__)
pre = Preconditions(app, app_wide=False)

tasks = {1: {"title": "Write docs", "version": 1}}


def task_version(task_id):
    task = tasks.get(task_id)
    return None if task is None else task["version"]


class TaskAPI(MethodView):
    @pre.etag(task_version)
    def get(self, task_id):
        return {"title": tasks[task_id]["title"]}

    @pre.etag(task_version)
    def put(self, task_id):
        task = tasks[task_id]
        task["title"] = request.get_json()["title"]
        task["version"] += 1
        return {"title": task["title"]}

    @pre.etag(task_version)
    def delete(self, task_id):
        del tasks[task_id]
        return "", 204


app.add_url_rule("/tasks/<int:task_id>", view_func=TaskAPI.as_view("task"))
