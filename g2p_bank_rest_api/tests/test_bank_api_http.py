import json
from decimal import Decimal

from odoo import Command
from odoo.tests import HttpCase, tagged

from odoo.addons.fastapi.pools import fastapi_app_pool


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
        cls.client = client
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

    def endpoint_with_auth(self, method):
        """Serve a second bank app at /test-bank-<method> with another authentication;
        return its root path. (Changing the method of a served app reaches running
        servers when the transaction commits, which tests never do.)"""
        root = f"/test-bank-{method}"
        endpoint = self.endpoint.copy(
            {"name": f"Bank {method}", "root_path": root, "g2p_auth_method": method}
        )
        endpoint._handle_registry_sync()
        self.env.registry.clear_cache()  # the endpoint-by-path map is cached
        return root

    def check_funds(self, headers=None, amount=100, root="/api/v1/bank"):
        body = {
            "account_number": "HTTP-FUND-1",
            "account_currency": "KES",
            "total_funds_needed": amount,
        }
        return self.url_open(
            f"{root}/check_funds",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    def test_api_key(self):
        response = self.check_funds({"HTTP-API-KEY": "test-client-key"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["status"], "success")
        # API clients have no Odoo session: none is sent back.
        self.assertNotIn("Set-Cookie", response.headers)

    def test_missing_or_wrong_key_is_401(self):
        for headers, says in (
            (None, "Send your API key in the HTTP-API-KEY header."),
            ({"HTTP-API-KEY": "not-a-key"}, "This API key is not valid for this API."),
        ):
            response = self.check_funds(headers)
            self.assertEqual(response.status_code, 401, response.text)
            self.assertEqual(
                response.json()["detail"],
                {"code": "UNAUTHORIZED", "message": says},
            )

    def test_non_ascii_key_is_401_not_500(self):
        """OCA's key comparison raises TypeError on text that is not ASCII."""
        response = self.check_funds({"HTTP-API-KEY": "\xe9\xe9"})
        self.assertEqual(response.status_code, 401, response.text)
        self.assertEqual(response.json()["detail"]["code"], "UNAUTHORIZED")

    def test_revoked_key_is_401(self):
        """OCA caches keys: an archived or deleted key used to go on working."""
        keys = self.env["auth.api.key"].create(
            [
                {
                    "name": f"revoked {n}",
                    "key": f"revoked-{n}",
                    "user_id": self.client.id,
                }
                for n in (1, 2)
            ]
        )
        for key in keys:
            response = self.check_funds({"HTTP-API-KEY": key.key})
            self.assertEqual(response.status_code, 200, response.text)
        keys[0].active = False
        keys[1].unlink()
        for key in ("revoked-1", "revoked-2"):
            response = self.check_funds({"HTTP-API-KEY": key})
            self.assertEqual(response.status_code, 401, response.text)
        response = self.check_funds({"HTTP-API-KEY": "test-client-key"})
        self.assertEqual(response.status_code, 200, response.text)

    def test_key_outside_the_endpoints_key_group_is_401(self):
        group_key = self.env["auth.api.key"].create(
            {"name": "grouped", "key": "grouped-key", "user_id": self.client.id}
        )
        self.endpoint.auth_api_key_group_id = self.env["auth.api.key.group"].create(
            {
                "name": "Payment switches",
                "code": "switches",
                "auth_api_key_ids": [Command.set(group_key.ids)],
            }
        )
        response = self.check_funds({"HTTP-API-KEY": "grouped-key"})
        self.assertEqual(response.status_code, 200, response.text)
        response = self.check_funds({"HTTP-API-KEY": "test-client-key"})
        self.assertEqual(response.status_code, 401, response.text)
        self.assertEqual(response.json()["detail"]["code"], "UNAUTHORIZED")

    def test_apps_are_pooled_by_endpoint_not_by_path(self):
        """OCA's dispatcher kept one more app for every new request path (20 ms and
        0.35 MB each: a payment-status lookup per payment grew without end)."""
        for reference in ("PAY-A", "PAY-B", "PAY-C"):
            response = self.url_open(
                f"/api/v1/bank/payments/{reference}",
                headers={"HTTP-API-KEY": "test-client-key"},
            )
            self.assertEqual(response.status_code, 404, response.text)
        pooled = fastapi_app_pool._queue_by_db_by_root_path[self.env.cr.dbname]
        self.assertIn("/api/v1/bank", pooled)
        self.assertFalse([path for path in pooled if "PAY-" in path], pooled.keys())

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

    def test_no_credentials_mode(self):
        self.assertEqual(self.check_funds().status_code, 401)
        root = self.endpoint_with_auth("none")
        response = self.check_funds(root=root)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["status"], "success")

    def test_error_answers_are_never_500(self):
        """Error answers through Odoo's server keep their status, every time (an
        a2wsgi race used to turn some of them into 500s)."""
        requests = [
            ({"HTTP-API-KEY": "test-client-key"}, b"{not json", 422),
            ({"HTTP-API-KEY": "test-outsider-key"}, b"{}", 403),
            ({"HTTP-API-KEY": "not-a-key"}, b"{}", 401),
            ({"HTTP-API-KEY": "test-client-key"}, b'{"account_number": 1}', 422),
        ] * 25
        statuses = [
            self.url_open(
                "/api/v1/bank/check_funds",
                data=body,
                headers={"Content-Type": "application/json", **headers},
            ).status_code
            for headers, body, _expected in requests
        ]
        self.assertEqual(statuses, [expected for _h, _b, expected in requests])

    def test_malformed_accept_language_is_ignored(self):
        """OCA fastapi reads the language from Accept-Language; a malformed header
        used to answer 500 on every route of every app."""
        for value in ("en;q=not-a-number", "fr;q=1;x=2", "x" * 9000):
            with self.subTest(value=value[:20]):
                response = self.check_funds(
                    {"HTTP-API-KEY": "test-client-key", "Accept-Language": value}
                )
                self.assertEqual(response.status_code, 200, response.text)
                self.assertEqual(response.json()["status"], "success")

    def test_control_characters_are_422(self):
        """A NUL used to reach PostgreSQL, which refuses it: 500."""
        for path, body in (
            ("generate_account_statement", {"program_account_number": "A\x00B"}),
            (
                "check_funds",
                {
                    "account_number": "HTTP\x00",
                    "account_currency": "KES",
                    "total_funds_needed": 1,
                },
            ),
        ):
            with self.subTest(path=path):
                response = self.url_open(
                    f"/api/v1/bank/{path}",
                    data=json.dumps(body),
                    headers={
                        "Content-Type": "application/json",
                        "HTTP-API-KEY": "test-client-key",
                    },
                )
                self.assertEqual(response.status_code, 422, response.text)
        response = self.url_open(
            "/api/v1/bank/accounts/HTTP%00FUND/balance",
            headers={"HTTP-API-KEY": "test-client-key"},
        )
        self.assertEqual(response.status_code, 422, response.text)

    def test_queries_of_a_check_funds(self):
        """What one check_funds asks the database once the server's caches are warm:
        the account's row, and OCA endpoint_route_handler's version of the routes
        (it asks on every request whether they changed). Odoo's public-user step
        also read res_users on every request (env.ref checks that the user exists)."""
        self.check_funds({"HTTP-API-KEY": "test-client-key"})  # fills the caches
        with self.assertQueryCount(2):
            response = self.check_funds({"HTTP-API-KEY": "test-client-key"})
        self.assertEqual(response.json()["status"], "success", response.text)

    def test_client_errors_are_not_logged_as_server_errors(self):
        """A client's mistake is answered (and in the access log with its status);
        Odoo logged each one at ERROR with a traceback, as if the server had failed:
        a 409 for a statement asked for too early, every 401 and 422..."""
        key = {"HTTP-API-KEY": "test-client-key"}
        json_key = {"Content-Type": "application/json", **key}
        statement = self.url_open(
            "/api/v1/bank/generate_account_statement",
            data=json.dumps({"program_account_number": "HTTP-FUND-1"}),
            headers=json_key,
        ).json()["account_statement_id"]  # pending: its job does not run in tests
        with self.assertNoLogs("odoo.http", level="WARNING"):
            responses = [
                self.check_funds(),
                self.url_open(
                    "/api/v1/bank/check_funds", data=b"{not json", headers=json_key
                ),
                self.url_open("/api/v1/bank/statements/STM-NONE", headers=key),
                self.url_open(
                    f"/api/v1/bank/statements/{statement}/mt940", headers=key
                ),
            ]
        self.assertEqual([r.status_code for r in responses], [401, 422, 404, 409])
