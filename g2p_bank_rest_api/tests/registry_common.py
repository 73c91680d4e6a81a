from schwifty import IBAN

from odoo import Command

from odoo.addons.extendable_fastapi.tests.common import FastAPITransactionCase

from ..dependencies import g2p_authenticated_env
from ..routers.registry import registry_router

# A branch BIC of the bank of the IBANs of iban() (Commerzbank, COBADE..): an IBAN
# must be sent with its own bank.
IBAN_BANK_BIC = "COBADEHH"


def iban(number):
    """A valid German IBAN for the account ``number`` (bank code 37040044)."""
    return IBAN.generate("DE", bank_code="37040044", account_code=str(number)).compact


class RegistryApiCase(FastAPITransactionCase):
    """The registry router called as a registry API client user; a bank of its own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api_user = cls.env["res.users"].create(
            {
                "name": "Test enrollment system",
                "login": "test_registry_api_client",
                "groups_id": [
                    Command.set(
                        [cls.env.ref("g2p_bank_rest_api.group_registry_api").id]
                    )
                ],
            }
        )
        # A context without the test case's tracking_disable: the audit trail is on.
        cls.api_env = cls.env(user=cls.api_user, context={})
        cls.bank = cls.env["res.bank"].create(
            {"name": "Test Bank of Kenya", "bic": "TSTBKENA"}
        )
        cls.iban_bank = cls.env["res.bank"].create(
            {"name": "Test Bank of Germany", "bic": IBAN_BANK_BIC}
        )
        cls.default_fastapi_router = registry_router
        cls.default_fastapi_running_user = cls.api_user
        cls.default_fastapi_dependency_overrides = {
            g2p_authenticated_env: lambda: cls.api_env
        }

    def call(self, method, path, payload=None, **params):
        with self._create_test_client(raise_server_exceptions=False) as client:
            return client.request(method, path, json=payload, params=params or None)

    def post(self, path, payload):
        return self.call("POST", path, payload)

    def patch(self, path, payload):
        return self.call("PATCH", path, payload)

    def get(self, path, **params):
        return self.call("GET", path, **params)

    def post_registrant(self, payload, expected=201):
        response = self.post("/registrants", payload)
        self.assertEqual(response.status_code, expected, response.text)
        return response.json()

    def assertError(self, response, status, code):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["detail"]["code"], code, response.text)
        self.assertTrue(response.json()["detail"]["message"])
        return response.json()["detail"]["message"]

    def partner(self, functional_id):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("g2p_functional_id", "=", functional_id)])
        )

    def messages(self, partners):
        return self.env["mail.message"].search_count(
            [("model", "=", "res.partner"), ("res_id", "in", partners.ids)]
        )

    @staticmethod
    def person(functional_id, name=None, **values):
        return {"functional_id": functional_id, "name": name or functional_id, **values}
