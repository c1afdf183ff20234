"""Recipe: flask-smorest for schemas and docs, flask-preconditions for ETags."""

import marshmallow as ma
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api
from flask_smorest import Blueprint

from flask_preconditions import Preconditions
from flask_preconditions import ProblemDetailsMixin

app = Flask(__name__)
app.config.update(API_TITLE="Pets", API_VERSION="1", OPENAPI_VERSION="3.0.3")
api = Api(app)
pre = Preconditions(app, app_wide=False)


# flask-smorest renders every HTTPException as its own JSON. This handler is
# more specific, so 412, 428 and 431 stay RFC 9457 problem details.
@app.errorhandler(ProblemDetailsMixin)
def problem(error):
    return error.get_response()


pets = {1: {"name": "Rex", "version": 1}}


class PetSchema(ma.Schema):
    name = ma.fields.String(required=True)


def pet_version(pet_id):
    pet = pets.get(pet_id)
    return None if pet is None else pet["version"]


blp = Blueprint("pets", __name__, url_prefix="/pets")


@blp.route("/<int:pet_id>")
class Pet(MethodView):
    # pre.etag goes above flask-smorest's decorators: it needs the
    # serialised response, and 304/412/428 skip the schemas entirely.
    @pre.etag(pet_version)
    @blp.response(200, PetSchema)
    def get(self, pet_id):
        return pets[pet_id]

    @pre.etag(pet_version)
    @blp.arguments(PetSchema)
    @blp.response(200, PetSchema)
    @blp.alt_response(412, description="The pet changed since it was read.")
    @blp.alt_response(428, description="Send If-Match with the pet's ETag.")
    def put(self, data, pet_id):
        pets[pet_id].update(data, version=pets[pet_id]["version"] + 1)
        return pets[pet_id]


api.register_blueprint(blp)
