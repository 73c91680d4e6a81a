from decimal import Decimal

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import SIM, SIM_BANK_BIC, PaymentBatchCase, decimals, run_jobs

FAILING = {
    "closed": "ACCOUNT_CLOSED",
    "dormant": "ACCOUNT_DORMANT",
    "deceased": "ACCOUNT_DECEASED",
}


@tagged("post_install", "-at_install")
class TestBatchFlow(PaymentBatchCase):
    """A batch of 220 payments from registrants to reconciled, every step a job."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.good = cls.registrants("T-OK", 190)
        cls.failing = {}
        for state, reason in FAILING.items():
            people = cls.registrants(f"T-{state[:3].upper()}", 5)
            for person in people:
                cls.sim_account(person.g2p_functional_id, state=state)
            cls.failing[reason] = people
        cls.missing = cls.registrants("T-NONE", 5)
        cls.env["ir.config_parameter"].sudo().set_param(
            SIM + "nonexistent_accounts",
            "\n".join(cls.missing.mapped("g2p_functional_id")),
        )
        cls.failing["ACCOUNT_NOT_FOUND"] = cls.missing
        cls.wallets = cls.registrants(
            "T-WAL",
            5,
            g2p_account_type="mobile_wallet",
            g2p_wallet_provider="M-Pesa",
            g2p_phone="+254700000000",
        )
        for i, account in enumerate(cls.wallets.bank_ids):
            account.g2p_phone = f"+2547000000{i:02d}"
        # A household paid through its head, and two people who cannot be paid.
        cls.head = cls.registrants("T-HEAD", 1)
        cls.household = cls.env["res.partner"].create(
            {
                "name": "Household T",
                "is_registrant": True,
                "is_group": True,
                "g2p_functional_id": "T-HH-1",
                "group_member_ids": [
                    (0, 0, {"individual_id": cls.head.id, "is_head": True})
                ],
            }
        )
        cls.no_account = cls.env["res.partner"].create(
            {"name": "No Account", "is_registrant": True}
        )
        cls.closed_primary = cls.registrants("T-XCL", 1)
        cls.closed_primary.bank_ids.g2p_state = "closed"

    def _everyone(self):
        people = self.good | self.wallets | self.household
        for group in self.failing.values():
            people |= group
        return people | self.no_account | self.closed_primary

    def test_end_to_end(self):
        batch = self.new_batch(
            self._everyone(), amount="150.25", max_bank_batch_size=60
        ).with_user(self.officer)
        self.assertEqual(batch.payment_count, 216)
        self.assertEqual(
            sorted(batch.exclusion_ids.mapped("reason")), ["no_account", "no_account"]
        )
        batch.action_confirm()
        household_payment = batch.payment_ids.filtered(
            lambda p: p.registrant_id == self.household
        )
        self.assertEqual(household_payment.payee_id, self.head)
        self.assertEqual(household_payment.account_number, "T-HEAD-0001")
        self.assertEqual(household_payment.bank_code, SIM_BANK_BIC)

        batch.action_run()
        self.assertTrue(batch.step_running)
        failed = run_jobs(self.env)
        self.assertFalse(failed, failed.mapped(lambda j: (j.name, j.exc_message)))

        batch.invalidate_recordset()
        self.assertEqual(batch.state, "reconciled", batch.step_error)
        self.assertFalse(batch.step_running)
        self.assertEqual(batch.block_reference, batch.name)
        self.assertEqual((batch.paid_count, batch.failed_count), (196, 20))
        self.assertEqual(batch.sent_count + batch.issued_count, 0)
        # Every payment has its outcome, with the right reason.
        payments = batch.payment_ids
        for reason, people in self.failing.items():
            failed = payments.filtered(
                lambda p, people=people: p.registrant_id in people
            )
            self.assertEqual(set(failed.mapped("state")), {"failed"}, reason)
            self.assertEqual(set(failed.mapped("failure_reason")), {reason})
            self.assertTrue(all(failed.mapped("reversal_reference")))
        paid = payments.filtered(lambda p: p.state == "paid")
        self.assertEqual(len(paid), 196)
        self.assertFalse(paid.filtered("failure_reason"))
        for payment in payments:
            self.assertTrue(payment.bank_reference, payment.name)
            self.assertTrue(payment.statement_id, payment.name)
            self.assertTrue(payment.entry_sequence, payment.name)
            self.assertTrue(payment.value_date and payment.entry_date, payment.name)
            self.assertTrue(payment.bank_batch_id, payment.name)
        self.assertEqual(len(set(payments.mapped("bank_batch_id"))), 4)
        self.assertFalse(batch.error_ids)

        # Money: the bank's ledger, balances and block agree with the batch.
        total, amount_paid, amount_failed = self.batch_amounts(batch)
        self.assertEqual(total, Decimal("150.25") * 216)
        self.assertEqual(amount_paid, Decimal("150.25") * 196)
        self.assertEqual(amount_failed, Decimal("150.25") * 20)
        self.assertEqual(Decimal(str(batch.amount_paid)), amount_paid)
        book, blocked, available = self.fund_amounts()
        self.assertEqual(book, self.opening - amount_paid)
        self.assertEqual(blocked, Decimal(0))
        self.assertEqual(available, book)
        ledger = decimals(
            self.env,
            """SELECT sum(signed_amount)::text,
                      sum(amount) FILTER (WHERE mark = 'D')::text,
                      sum(amount) FILTER (WHERE mark = 'RD')::text,
                      count(*) FILTER (WHERE mark = 'D'),
                      count(*) FILTER (WHERE mark = 'RD')
                 FROM g2p_sim_ledger_entry WHERE account_id = %s""",
            self.fund.id,
        )
        self.assertEqual(ledger, (book, total, amount_failed, 216, 20))
        block = self.env["g2p.sim.fund.block"].search(
            [("reference", "=", batch.block_reference)]
        )
        consumed = decimals(
            self.env,
            """SELECT amount::text, amount_consumed::text, amount_remaining::text
                 FROM g2p_sim_fund_block WHERE id = %s""",
            block.id,
        )
        self.assertEqual(consumed, (total, total, Decimal(0)))
        self.assertEqual(block.state, "consumed")
        # The statements of the funding account are all reconciled, and the
        # chatter tells the story step by step.
        self.assertTrue(batch.statement_ids)
        self.assertEqual(set(batch.statement_ids.mapped("state")), {"reconciled"})
        bodies = " ".join(batch.message_ids.mapped("body"))
        for needle in ("Confirmed", "Funds checked", "Funds blocked", "sent as bank"):
            self.assertIn(needle, bodies)

    def test_failed_payments_are_reissued(self):
        people = self.good[:3] | self.failing["ACCOUNT_CLOSED"][:2]
        batch = self.new_batch(people, amount="10.00")
        batch.action_confirm()
        batch.action_run()
        run_jobs(self.env)
        self.assertEqual((batch.paid_count, batch.failed_count), (3, 2))
        # The registrants get new accounts, then the failed payments go again.
        for person in self.failing["ACCOUNT_CLOSED"][:2]:
            self.env["res.partner.bank"].create(
                {
                    "partner_id": person.id,
                    "acc_number": f"NEW-{person.g2p_functional_id}",
                    "bank_id": self.sim_bank.id,
                    "g2p_is_primary": True,
                }
            )
        action = batch.action_reissue_failed()
        again = self.env["g2p.payment.batch"].browse(action["res_id"])
        self.assertEqual(again.reissued_from_id, batch)
        self.assertEqual(again.state, "draft")
        self.assertEqual(again.payment_ids.registrant_id, people[3:])
        self.assertEqual(set(again.payment_ids.mapped("amount")), {10.0})
        with self.assertRaises(UserError):
            batch.action_reissue_failed()
        again.action_confirm()
        self.assertTrue(
            all(
                n.startswith("NEW-") for n in again.payment_ids.mapped("account_number")
            )
        )
        again.action_run()
        run_jobs(self.env)
        self.assertEqual(again.state, "reconciled")
        self.assertEqual((again.paid_count, again.failed_count), (2, 0))
