import base64
import json

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, TransactionCase, tagged

from ..dependencies import env_from_basic_auth, g2p_authenticated_env
from .registry_common import RegistryApiCase

ROOT = "/api/v1/registry"


@tagged("post_install", "-at_install")
class TestRegistryApiOverHttp(HttpCase):
    """Authentication and documentation of the registry app, through Odoo's real
    HTTP server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.ref(
            "g2p_bank_rest_api.fastapi_endpoint_registry"
        )._handle_registry_sync()
        client = cls.env["res.users"].create(
            {
                "name": "HTTP registry client",
                "login": "test_http_registry_client",
                "groups_id": [
                    Command.set(
                        [cls.env.ref("g2p_bank_rest_api.group_registry_api").id]
                    )
                ],
            }
        )
        # A registrar without the API group: the API is a right of its own.
        registrar = cls.env["res.users"].create(
            {
                "name": "HTTP registrar",
                "login": "test_http_registrar",
                "groups_id": [
                    Command.set([cls.env.ref("g2p_bank.group_registrar").id])
                ],
            }
        )
        cls.env["auth.api.key"].create(
            [
                {
                    "name": "registry client",
                    "key": "test-reg-key",
                    "user_id": client.id,
                },
                {
                    "name": "registrar",
                    "key": "test-registrar-key",
                    "user_id": registrar.id,
                },
            ]
        )
        cls.env["res.partner"].create(
            {
                "name": "Http Person",
                "is_registrant": True,
                "g2p_functional_id": "T-HTTP",
            }
        )

    def request(self, path, key=None, data=None, method="GET"):
        headers = {"Content-Type": "application/json"}
        if key:
            headers["HTTP-API-KEY"] = key
        if method == "GET":
            return self.url_open(ROOT + path, headers=headers)
        return self.url_open(ROOT + path, data=data, headers=headers)

    def test_api_key_of_a_registry_client(self):
        response = self.request("/registrants/by-functional-id/T-HTTP", "test-reg-key")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["name"], "Http Person")
        body = json.dumps({"functional_id": "T-HTTP-2", "name": "Created over HTTP"})
        response = self.request("/registrants", "test-reg-key", body, "POST")
        self.assertEqual(response.status_code, 201, response.text)
        created = self.env["res.partner"].search(
            [("g2p_functional_id", "=", "T-HTTP-2")]
        )
        self.assertEqual(created.create_uid.login, "test_http_registry_client")

    def test_missing_or_wrong_key_is_401(self):
        for key in (None, "not-a-key", "\xe9\xe9"):
            with self.subTest(key=key):
                response = self.request("/registrants/by-functional-id/T-HTTP", key)
                self.assertEqual(response.status_code, 401, response.text)
                self.assertEqual(response.json()["detail"]["code"], "UNAUTHORIZED")

    def test_user_without_the_api_group_is_403(self):
        response = self.request(
            "/registrants/by-functional-id/T-HTTP", "test-registrar-key"
        )
        self.assertEqual(response.status_code, 403, response.text)
        self.assertEqual(response.json()["detail"]["code"], "FORBIDDEN")

    def test_errors_keep_their_status_and_code(self):
        response = self.request("/registrants/by-functional-id/NOPE", "test-reg-key")
        self.assertEqual(response.status_code, 404, response.text)
        self.assertEqual(response.json()["detail"]["code"], "REGISTRANT_NOT_FOUND")
        response = self.request("/registrants", "test-reg-key", b"{not json", "POST")
        self.assertEqual(response.status_code, 422, response.text)
        body = json.dumps({"functional_id": "T-HTTP", "name": "Again"})
        response = self.request("/registrants", "test-reg-key", body, "POST")
        self.assertEqual(response.status_code, 409, response.text)
        self.assertEqual(response.json()["detail"]["code"], "FUNCTIONAL_ID_TAKEN")

    def test_openapi_documentation_with_examples(self):
        response = self.url_open(ROOT + "/openapi.json")
        self.assertEqual(response.status_code, 200, response.text)
        spec = response.json()
        self.assertIn("/registrants/bulk", spec["paths"])
        self.assertIn("/mapper/{functional_id}", spec["paths"])
        schema = spec["components"]["schemas"]["RegistrantIn"]
        self.assertEqual(schema["examples"][0]["functional_id"], "REG-2026-000123")
        self.assertEqual(self.url_open(ROOT + "/docs").status_code, 200)


@tagged("post_install", "-at_install")
class TestRegistryEndpoint(TransactionCase):
    def test_endpoint_runs_as_a_technical_user_with_the_runner_group_only(self):
        endpoint = self.env.ref("g2p_bank_rest_api.fastapi_endpoint_registry")
        self.assertEqual((endpoint.app, endpoint.root_path), ("g2p_registry", ROOT))
        self.assertEqual(endpoint.g2p_auth_method, "api_key")
        user = endpoint.user_id
        self.assertEqual(user.login, "g2p_registry_api_endpoint")
        self.assertTrue(user.has_group("fastapi.group_fastapi_endpoint_runner"))
        self.assertFalse(user.has_group("g2p_bank.group_registrar"))
        self.assertFalse(user.has_group("g2p_bank_rest_api.group_registry_api"))

    def test_the_registry_app_requires_credentials(self):
        endpoint = self.env.ref("g2p_bank_rest_api.fastapi_endpoint_registry")
        with self.assertRaisesRegex(ValidationError, "must authenticate"):
            endpoint.g2p_auth_method = "none"
        endpoint.g2p_auth_method = "http_basic"
        self.assertEqual(endpoint.g2p_auth_method, "http_basic")

    def test_registry_api_group_implies_registrar(self):
        group = self.env.ref("g2p_bank_rest_api.group_registry_api")
        self.assertIn(self.env.ref("g2p_bank.group_registrar"), group.trans_implied_ids)
        self.assertEqual(group.category_id.name, "G2P API")


@tagged("post_install", "-at_install")
class TestRegistryBasicAuth(RegistryApiCase):
    def test_http_basic_authenticates_odoo_users(self):
        """Basic auth checks the login and password (Odoo's own authentication, which
        reads committed users: the admin of the test database) and then the group."""
        overrides = {g2p_authenticated_env: env_from_basic_auth}
        for password, expected in (("admin", 403), ("wrong", 401)):
            with (
                self.subTest(password=password),
                self._create_test_client(
                    raise_server_exceptions=False, dependency_overrides=overrides
                ) as client,
            ):
                token = base64.b64encode(f"admin:{password}".encode()).decode()
                response = client.get(
                    "/registrants", headers={"Authorization": f"Basic {token}"}
                )
                self.assertEqual(response.status_code, expected, response.text)
                self.assertIn(
                    response.json()["detail"]["code"], ("FORBIDDEN", "UNAUTHORIZED")
                )
        with self._create_test_client(
            raise_server_exceptions=False, dependency_overrides=overrides
        ) as client:
            response = client.get("/registrants")
        self.assertEqual(response.status_code, 401, response.text)
        self.assertEqual(response.json()["detail"]["code"], "UNAUTHORIZED")
