import base64
import json
from decimal import Decimal

from odoo import Command
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestBankApiOverHttp(HttpCase):
    """Authentication of the bank app, through Odoo's real HTTP server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.endpoint = cls.env.ref("g2p_bank_rest_api.fastapi_endpoint_bank")
        cls.endpoint._handle_registry_sync()
        currency = cls.env.ref("base.KES")
        currency.active = True
        account = cls.env["g2p.sim.account"].create(
            {
                "account_number": "HTTP-FUND-1",
                "name": "Program",
                "currency_id": currency.id,
            }
        )
        account.deposit(Decimal("500.00"), reference="HTTP-OPENING")
        client = cls.env["res.users"].create(
            {
                "name": "HTTP client",
                "login": "test_http_bank_client",
                "password": "test_http_bank_client",
                "groups_id": [
                    Command.set([cls.env.ref("g2p_bank_rest_api.group_bank_api").id])
                ],
            }
        )
        outsider = cls.env["res.users"].create(
            {"name": "Outsider", "login": "test_http_outsider", "groups_id": []}
        )
        cls.env["auth.api.key"].create(
            [
                {"name": "test client", "key": "test-client-key", "user_id": client.id},
                {
                    "name": "test outsider",
                    "key": "test-outsider-key",
                    "user_id": outsider.id,
                },
            ]
        )

    def check_funds(self, headers=None, amount=100):
        body = {
            "account_number": "HTTP-FUND-1",
            "account_currency": "KES",
            "total_funds_needed": amount,
        }
        return self.url_open(
            "/api/v1/bank/check_funds",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    def test_api_key(self):
        response = self.check_funds({"HTTP-API-KEY": "test-client-key"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["status"], "success")

    def test_missing_or_wrong_key_is_401(self):
        self.assertEqual(self.check_funds().status_code, 401)
        response = self.check_funds({"HTTP-API-KEY": "not-a-key"})
        self.assertEqual(response.status_code, 401, response.text)

    def test_key_of_a_user_without_the_group_is_403(self):
        response = self.check_funds({"HTTP-API-KEY": "test-outsider-key"})
        self.assertEqual(response.status_code, 403, response.text)
        self.assertEqual(response.json()["detail"]["code"], "FORBIDDEN")

    def test_malformed_body_is_422_not_500(self):
        response = self.url_open(
            "/api/v1/bank/check_funds",
            data=b"{not json",
            headers={
                "Content-Type": "application/json",
                "HTTP-API-KEY": "test-client-key",
            },
        )
        self.assertEqual(response.status_code, 422, response.text)

    def test_http_basic(self):
        self.endpoint.g2p_auth_method = "http_basic"
        credentials = base64.b64encode(b"test_http_bank_client:test_http_bank_client")
        ok = self.check_funds({"Authorization": f"Basic {credentials.decode()}"})
        self.assertEqual(ok.status_code, 200, ok.text)
        self.assertEqual(
            self.check_funds({"HTTP-API-KEY": "test-client-key"}).status_code, 401
        )

    def test_no_credentials_mode(self):
        self.assertEqual(self.check_funds().status_code, 401)
        self.endpoint.g2p_auth_method = "none"
        response = self.check_funds()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["status"], "success")
