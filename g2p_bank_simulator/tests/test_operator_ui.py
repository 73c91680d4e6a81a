from decimal import Decimal

from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import PARAM, SimBankCase


class TestOperatorUi(SimBankCase):
    """What the bank operator does in the forms."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.operator = new_test_user(
            cls.env, "t_sim_ui_operator", groups="g2p_bank_simulator.group_operator"
        )

    def _deposit_form(self, account):
        action = account.with_user(self.operator).action_open_deposit()
        self.assertEqual(action["res_model"], "g2p.sim.deposit.wizard")
        return Form(
            self.env[action["res_model"]]
            .with_user(self.operator)
            .with_context(**action["context"])
        )

    def test_deposit_wizard(self):
        form = self._deposit_form(self.program)
        form.amount = 250.35
        form.reference = " TOPUP-1 "
        form.save().action_deposit()
        form = self._deposit_form(self.program)
        form.amount = 1000000.07  # no reference
        form.save().action_deposit()
        self.assertEqual(
            self._amounts(self.program),
            (Decimal("1001250.42"), Decimal("0.00"), Decimal("1001250.42")),
        )
        entries = self.env["g2p.sim.ledger.entry"].search(
            [("account_id", "=", self.program.id)], order="id desc", limit=2
        )
        self.assertEqual(
            [(e.mark, e.customer_reference, str(e.amount)) for e in entries],
            [("C", "DEPOSIT", "1000000.07"), ("C", "TOPUP-1", "250.35")],
        )
        self.assertInvariants()

    def test_deposit_wizard_shows_the_service_errors(self):
        for amount, reference, code, message in (
            (0, "", "INVALID_AMOUNT", "positive"),
            (1.005, "", "INVALID_AMOUNT", "more than 2 decimals"),
            (1, "TAB\tREF", "INVALID_REQUEST", "U\\+0009"),
        ):
            form = self._deposit_form(self.program)
            form.amount = amount
            form.reference = reference
            wizard = form.save()
            with self.subTest(amount=amount):
                error = self.assertBankError(code, wizard.action_deposit)
                self.assertRegex(str(error), message)
        closed = self._open("T-UI-CLOSED", state="closed")
        form = self._deposit_form(closed)
        form.amount = 10  # no reference: DEPOSIT
        self.assertBankError("ACCOUNT_NOT_ACTIVE", form.save().action_deposit)

    def test_double_release_says_so_in_words(self):
        block = self.bank.block_funds("T-PROG-1", "EUR", "100.00")
        block.with_user(self.operator).action_release()
        error = self.assertBankError(
            "BLOCK_NOT_ACTIVE", block.with_user(self.operator).action_release
        )
        self.assertIn(f"Fund block {block.reference} was already released", str(error))

    def test_push_again(self):
        """A statement whose push failed is pushed again, under the same identity
        key as its first push (which has ended)."""
        self.env["ir.config_parameter"].set_param(
            PARAM + "statement_upload_url", "http://127.0.0.1:9/upload_mt940"
        )
        with trap_jobs() as trap:
            statement = self.bank.generate_statement("T-PROG-1")
            statement._job_generate()
            trap.assert_jobs_count(1, only=statement._job_push)
        first = statement.with_delay(
            identity_key=f"g2p_sim_statement_push_{statement.id}"
        )._job_push()
        first.set_done()
        first.store()
        statement.write({"push_state": "failed", "push_error": "Connection refused"})
        as_operator = statement.with_user(self.operator)
        as_operator.action_push_again()
        self.assertEqual(statement.push_state, "pending")
        jobs = self.env["queue.job"].search(
            [("identity_key", "=", f"g2p_sim_statement_push_{statement.id}")]
        )
        self.assertEqual(jobs.mapped("state"), ["pending", "done"])
        self.assertEqual(jobs[0].max_retries, 10)
        # Pending again: not offered a second time.
        with self.assertRaisesRegex(UserError, "whose push failed"):
            as_operator.action_push_again()
        self.assertEqual(len(self.env["queue.job"].search([("id", "in", jobs.ids)])), 2)
