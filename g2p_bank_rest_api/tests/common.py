from decimal import Decimal

from odoo import Command

from odoo.addons.extendable_fastapi.tests.common import FastAPITransactionCase

from ..dependencies import g2p_authenticated_env
from ..routers.bank import bank_router


class BankApiCase(FastAPITransactionCase):
    """A funded program account at the simulated bank and a bank API client user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls.env.ref("base.KES")
        cls.currency.active = True
        cls.api_user = cls.env["res.users"].create(
            {
                "name": "Test payment switch",
                "login": "test_bank_api_client",
                "groups_id": [
                    Command.set([cls.env.ref("g2p_bank_rest_api.group_bank_api").id])
                ],
            }
        )
        cls.api_env = cls.env(user=cls.api_user)
        cls.account = cls.env["g2p.sim.account"].create(
            {
                "account_number": "TEST-FUND-1",
                "name": "Test program",
                "currency_id": cls.currency.id,
            }
        )
        cls.account.deposit(Decimal("10000.00"), reference="TEST-OPENING")
        cls.default_fastapi_router = bank_router
        cls.default_fastapi_running_user = cls.api_user
        cls.default_fastapi_dependency_overrides = {
            g2p_authenticated_env: lambda: cls.api_env
        }

    def post(self, path, payload, **kwargs):
        with self._create_test_client(raise_server_exceptions=False, **kwargs) as c:
            return c.post(path, json=payload)

    def get(self, path):
        with self._create_test_client(raise_server_exceptions=False) as client:
            return client.get(path)

    def payment(self, reference, block, amount="100.00", **overrides):
        """An initiate_payment item as the OpenG2P bridge sends it."""
        values = {
            "payment_reference_number": reference,
            "remitting_account": self.account.account_number,
            "remitting_account_currency": "KES",
            "payment_amount": amount,
            "funds_blocked_reference_number": block,
            "beneficiary_name": "Jane Doe",
            "beneficiary_account": "BEN-" + reference,
            "beneficiary_account_currency": "KES",
            "beneficiary_account_type": "BANK_ACCOUNT",
            "beneficiary_bank_code": "OTHERBANK",
            "beneficiary_branch_code": "001",
            "narrative_1": "Cash transfer",
            "narrative_2": "PROG",
            "narrative_3": "CYCLE1",
            "narrative_4": "BENEF-1",
            "narrative_5": "",
            "narrative_6": "",
            "payment_date": "2026-11-22",
            "active": True,  # the bridge sends it; the contract says: ignore
        }
        values.update(overrides)
        return values

    def block(self, amount):
        response = self.post(
            "/block_funds",
            {"account_number": "TEST-FUND-1", "currency": "KES", "amount": amount},
        )
        self.assertEqual(response.json()["status"], "success", response.text)
        return response.json()["block_reference_no"]

    def assertBalances(self, book, blocked, available):
        self.account.invalidate_recordset()
        self.assertEqual(
            (
                self.account.book_balance,
                self.account.blocked_amount,
                self.account.available_balance,
            ),
            (book, blocked, available),
        )

    def post_raw(self, path, body):
        """POST ``body`` (bytes) as JSON: numbers as the client wrote them."""
        with self._create_test_client(raise_server_exceptions=False) as client:
            return client.post(
                path, content=body, headers={"Content-Type": "application/json"}
            )

    def exact(self, record, fname):
        """A monetary column as PostgreSQL stores it."""
        record.flush_recordset([fname])
        self.env.cr.execute(
            f"SELECT {fname}::text FROM {record._table} WHERE id = %s",
            [record.id],
        )
        return Decimal(self.env.cr.fetchone()[0])
