from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import SimBankCase


class TestSecurity(SimBankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.operator = new_test_user(
            cls.env, "t_sim_operator", groups="g2p_bank_simulator.group_operator"
        )
        cls.stranger = new_test_user(
            cls.env, "t_sim_stranger", groups="base.group_user"
        )

    def test_ledger_is_append_only(self):
        entry = self.env["g2p.sim.ledger.entry"].search(
            [("account_id", "=", self.program.id)]
        )
        self.assertEqual(len(entry), 1)
        with self.assertRaises(UserError):
            entry.write({"amount": 1})
        with self.assertRaises(UserError):
            entry.unlink()
        with self.assertRaises(UserError):
            self.env["g2p.sim.ledger.entry"].create(
                {
                    "account_id": self.program.id,
                    "currency_id": self.eur.id,
                    "mark": "C",
                    "amount": 1,
                    "signed_amount": 1,
                    "bank_reference": "FAKE",
                    "value_date": "2026-01-01",
                    "entry_date": "2026-01-01",
                }
            )
        as_operator = entry.with_user(self.operator)
        self.assertEqual(as_operator.customer_reference, "OPENING")
        with self.assertRaises(AccessError):
            as_operator.check_access("write")
        self.assertInvariants()

    def test_balances_change_only_through_services(self):
        with self.assertRaises(UserError):
            self.program.write({"book_balance": 5})
        with self.assertRaises(UserError):
            self.env["g2p.sim.account"].create(
                {
                    "account_number": "T-RICH",
                    "name": "Rich",
                    "currency_id": self.eur.id,
                    "available_balance": 10,
                }
            )
        self.assertTrue(self.program.ledger_entry_count)
        with self.assertRaises(UserError):
            self.program.currency_id = self.env.ref("base.USD")
        # The same currency written again (a data file re-applied) is no change.
        self.program.write({"currency_id": self.program.currency_id.id, "name": "P"})
        self.assertEqual(self.program.name, "P")
        self.assertInvariants()

    def test_operator_uses_the_services(self):
        bank = self.bank.with_user(self.operator)
        account = (
            self.env["g2p.sim.account"]
            .with_user(self.operator)
            .create(
                {
                    "account_number": "T-OP-1",
                    "name": "By operator",
                    "currency_id": self.eur.id,
                }
            )
        )
        account.name = "Renamed"
        self.assertTrue(bank.check_funds("T-PROG-1", "EUR", 1))
        block = bank.block_funds("T-PROG-1", "EUR", 10)
        block.with_user(self.operator).action_release()
        self.assertEqual(block.state, "released")
        with trap_jobs():
            statement = self.program.with_user(
                self.operator
            ).action_generate_statement()
        self.assertEqual(statement["res_model"], "g2p.sim.statement")
        with self.assertRaises(AccessError):
            self.env["g2p.sim.fund.block"].with_user(self.operator).create(
                {"reference": "X", "account_id": account.id, "amount": 1}
            )
        # Retrying a failed batch is for managers.
        with trap_jobs():
            batch = bank.initiate_payment(
                [self._payment("SEC-1", 1, bank.block_funds("T-PROG-1", "EUR", 5))]
            )
        with self.assertRaises(AccessError):
            batch.with_user(self.operator).action_retry()

    def test_others_cannot_use_the_bank(self):
        bank = self.bank.with_user(self.stranger)
        before = self._snapshot()
        for call in (
            lambda: bank.check_funds("T-PROG-1", "EUR", 1),
            lambda: bank.block_funds("T-PROG-1", "EUR", 1),
            lambda: bank.initiate_payment([]),
            lambda: bank.generate_statement("T-PROG-1"),
            lambda: self.program.with_user(self.stranger).deposit(1),
        ):
            with self.assertRaises(AccessError):
                call()
        with self.assertRaises(AccessError):
            self.env["g2p.sim.account"].with_user(self.stranger).search([])
        self.assertEqual(self._snapshot(), before)
