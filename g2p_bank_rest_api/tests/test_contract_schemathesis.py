"""schemathesis against the served OpenAPI documents of the bank and registry apps.

schemathesis runs in its own virtual environment, in a subprocess, while Odoo's test
HTTP server answers. It generates requests from each app's ``openapi.json`` (the
documented examples, boundary and invalid values, random ones, sequences of calls)
and checks every answer: never a server error, a documented status, a documented
content type, a body that matches the documented schema. Deterministic (schemathesis'
deterministic mode: no seed, no example database) and small.
"""

import os
import re
import subprocess
import tempfile
from decimal import Decimal

from odoo import Command
from odoo.tests import HttpCase, tagged

SCHEMATHESIS_VAR = "G2P_SCHEMATHESIS"
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


@tagged("post_install", "-at_install")
class TestOpenApiContract(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for xmlid in ("fastapi_endpoint_bank", "fastapi_endpoint_registry"):
            cls.env.ref(f"g2p_bank_rest_api.{xmlid}")._handle_registry_sync()
        kes = cls.env.ref("base.KES")
        kes.active = True
        # The account of the documented examples (demo data has it too): the
        # examples then reach the real use cases.
        account = cls.env["g2p.sim.account"].search(
            [("account_number", "=", "PROG-FUND-001")]
        ) or cls.env["g2p.sim.account"].create(
            {
                "account_number": "PROG-FUND-001",
                "name": "Program",
                "currency_id": kes.id,
            }
        )
        account.deposit(Decimal("100000.00"), reference="ST-OPENING")
        users = cls.env["res.users"].create(
            [
                {
                    "name": f"schemathesis {app}",
                    "login": f"test_schemathesis_{app}",
                    "groups_id": [
                        Command.set(
                            [cls.env.ref(f"g2p_bank_rest_api.group_{app}_api").id]
                        )
                    ],
                }
                for app in ("bank", "registry")
            ]
        )
        cls.env["auth.api.key"].create(
            [
                {"name": user.login, "key": f"{user.login}-key", "user_id": user.id}
                for user in users
            ]
        )

    def setUp(self):
        super().setUp()
        self.schemathesis = os.environ.get(SCHEMATHESIS_VAR)
        if not self.schemathesis or not os.access(self.schemathesis, os.X_OK):
            self.fail(
                f"schemathesis is not available: {SCHEMATHESIS_VAR} "
                f"({self.schemathesis or 'not set'}) must name its command in its "
                "virtual environment. scripts/test.sh creates it "
                "(ensure_schemathesis_venv)."
            )

    def run_schemathesis(self, app, *options):
        """Run schemathesis on the app's served OpenAPI; return (exit code, output)."""
        url = f"http://127.0.0.1:{self.http_port()}/api/v1/{app}/openapi.json"
        folder = self.enterContext(tempfile.TemporaryDirectory())  # its cache
        run = subprocess.run(
            [
                self.schemathesis,
                "run",
                url,
                "--checks",
                CHECKS,
                "--header",
                f"HTTP-API-KEY: test_schemathesis_{app}-key",
                "--generation-deterministic",
                "--max-examples",
                "5",
                "--workers",
                "1",
                "--request-timeout",
                "30",
                "--no-color",
                *options,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=folder,
        )
        return run.returncode, run.stdout + run.stderr

    def assertConforms(self, app, operations, *options):
        code, output = self.run_schemathesis(app, *options)
        self.assertEqual(
            code, 0, f"schemathesis found defects in the {app} app:\n{output}"
        )
        # It did test: every operation, some cases, all of them passed.
        tested = re.search(r"Tested: (\d+)", output)
        self.assertEqual(tested and int(tested[1]), operations, output)
        cases = re.search(r"(\d+) generated, (\d+) passed", output)
        self.assertTrue(cases and int(cases[1]) > 10 * operations, output)
        self.assertEqual(cases[1], cases[2], output)

    def test_bank_app_conforms_to_its_openapi(self):
        self.assertConforms("bank", 10)

    def test_registry_app_conforms_to_its_openapi(self):
        # Its nested bodies make the coverage phase long: no stateful phase here.
        self.assertConforms("registry", 11, "--phases", "examples,coverage,fuzzing")

    def test_a_route_answering_500_fails_the_run(self):
        """The check is live: a use case that breaks is reported as a server error."""
        helper = type(self.env["g2p.bank.api.router.helper"])

        def broken(self, account_number):
            raise RuntimeError("a defect")

        self.patch(helper, "account_balance", broken)
        code, output = self.run_schemathesis(
            "bank",
            "--include-path",
            "/accounts/{account_number}/balance",
            "--phases",
            "examples",
        )
        self.assertNotEqual(code, 0, output)
        self.assertIn("Server error", output)
