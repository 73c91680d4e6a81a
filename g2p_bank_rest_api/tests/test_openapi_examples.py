from odoo.tests import HttpCase, tagged

APPS = {
    "bank": "g2p_bank_rest_api.fastapi_endpoint_bank",
    "registry": "g2p_bank_rest_api.fastapi_endpoint_registry",
}


def _has_example(spec, holder):
    """Whether a parameter or a media type, or the schema it names, shows an
    example (of the array's items for a list)."""
    if "example" in holder or "examples" in holder:
        return True
    schema = holder.get("schema", {})
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return "example" in schema or "examples" in schema


@tagged("post_install", "-at_install")
class TestOpenApiExamples(HttpCase):
    """The served OpenAPI documents show an example of every input and output."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for xmlid in APPS.values():
            cls.env.ref(xmlid)._handle_registry_sync()

    def test_every_parameter_body_and_answer_has_an_example(self):
        self.maxDiff = None
        for app in APPS:
            response = self.url_open(f"/api/v1/{app}/openapi.json")
            self.assertEqual(response.status_code, 200, response.text)
            spec = response.json()
            missing = []
            for path, operations in spec["paths"].items():
                for method, operation in operations.items():
                    where = f"{method.upper()} {path}"
                    for parameter in operation.get("parameters", []):
                        if parameter["name"] == "Accept-Language":
                            continue  # OCA fastapi's, on every route of every app
                        if not _has_example(spec, parameter):
                            missing.append(f"{where}: parameter {parameter['name']}")
                    body = operation.get("requestBody", {}).get("content", {})
                    for media_type, media in body.items():
                        if not _has_example(spec, media):
                            missing.append(f"{where}: request body {media_type}")
                    for status, answer in operation["responses"].items():
                        for media_type, media in answer.get("content", {}).items():
                            if not _has_example(spec, media):
                                missing.append(f"{where}: {status} {media_type}")
            with self.subTest(app=app):
                self.assertEqual(missing, [], f"no example in the {app} app's docs")
