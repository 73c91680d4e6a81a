import base64

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import PaymentBatchCase


@tagged("post_install", "-at_install")
class TestBuilding(PaymentBatchCase):
    """Adding registrants by filter or CSV, exclusions, the draft-only rules."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.people = cls.registrants("T-BLD", 4)
        cls.archived = cls.registrants("T-ARC", 1)
        cls.archived.active = False
        cls.euro_account = cls.registrants(
            "T-EUR", 1, currency_id=cls.env.ref("base.EUR").id
        )
        cls.no_account = cls.env["res.partner"].create(
            {
                "name": "T no account",
                "is_registrant": True,
                "g2p_functional_id": "T-BLD-X",
            }
        )

    def wizard(self, batch, domain, amount):
        return (
            self.env["g2p.payment.add.registrants"]
            .with_user(self.officer)
            .create({"batch_id": batch.id, "domain": domain, "amount": amount})
        )

    def test_add_by_filter_lists_exclusions(self):
        batch = self.new_batch().with_user(self.officer)
        wizard = self.wizard(batch, "[('g2p_functional_id', '=like', 'T-BLD%')]", 12.35)
        self.assertEqual(wizard.match_count, 5)
        wizard.action_add()
        self.assertEqual(batch.payment_count, 4)
        self.assertEqual(set(batch.payment_ids.mapped("amount")), {12.35})
        self.assertEqual(len(set(batch.payment_ids.mapped("name"))), 4)
        self.assertTrue(all(len(n) == 16 for n in batch.payment_ids.mapped("name")))
        self.assertEqual(
            batch.exclusion_ids.mapped("reason"), ["no_account"], "never dropped"
        )
        # Again: everyone is already in the batch.
        self.wizard(
            batch, "[('g2p_functional_id', '=like', 'T-BLD-%')]", 5
        ).action_add()
        self.assertEqual(batch.payment_count, 4)
        self.assertEqual(
            sorted(batch.exclusion_ids.mapped("reason")),
            ["duplicate"] * 4 + ["no_account"] * 2,
        )
        # Archived registrants and accounts in another currency are excluded too.
        self.env["g2p.payment.batch.builder"]._add_payments(
            batch, [(self.archived, 1), (self.euro_account, 1)]
        )
        self.assertIn("inactive", batch.exclusion_ids.mapped("reason"))
        self.assertIn("currency", batch.exclusion_ids.mapped("reason"))

    def test_csv_preview_and_row_errors(self):
        batch = self.new_batch().with_user(self.officer)
        csv_text = (
            "functional_id,amount\n"
            "T-BLD-0001,10.50\n"
            "T-BLD-0002,abc\n"
            "T-NOPE,5\n"
            "T-BLD-0001,7\n"
            "T-BLD-0003,1.234\n"
            "T-BLD-0004,-3\n"
            "T-BLD-X,9\n"
        )
        wizard = (
            self.env["g2p.payment.import.csv"]
            .with_user(self.officer)
            .create(
                {
                    "batch_id": batch.id,
                    "csv_file": base64.b64encode(csv_text.encode()),
                    "csv_filename": "cycle.csv",
                }
            )
        )
        wizard.action_preview()
        self.assertEqual((wizard.valid_count, wizard.error_count), (2, 5))
        errors = wizard.line_ids.sorted("row").mapped("error")
        self.assertFalse(errors[0])
        self.assertIn("not an amount", errors[1])
        self.assertIn("Unknown functional ID", errors[2])
        self.assertIn("twice", errors[3])
        self.assertIn("decimals", errors[4])
        self.assertIn("positive", errors[5])
        self.assertFalse(errors[6])
        wizard.action_import()
        self.assertEqual(batch.payment_count, 1)
        self.assertEqual(batch.payment_ids.amount, 10.5)
        self.assertEqual(batch.exclusion_ids.functional_id, "T-BLD-X")

    def test_only_transitions_change_the_state(self):
        batch = self.new_batch(self.people).with_user(self.officer)
        with self.assertRaises(UserError):
            batch.write({"state": "sent"})
        batch.action_confirm()
        with self.assertRaises(UserError):
            batch.funding_account_number = "OTHER"
        with self.assertRaises(UserError):
            batch.payment_ids[0].amount = 1
        with self.assertRaises(UserError):
            self.env["g2p.payment.batch.builder"]._add_payments(
                batch, [(self.people[0], 1)]
            )
        with self.assertRaises(UserError):
            batch.action_confirm()
        # The snapshot does not follow later changes of the account.
        self.people[0].bank_ids.acc_number = "T-CHANGED"
        self.assertEqual(batch.payment_ids.sorted("id")[0].account_number, "T-BLD-0001")

    def test_confirm_excludes_accounts_closed_meanwhile(self):
        batch = self.new_batch(self.people)
        self.people[1].bank_ids.g2p_state = "closed"
        batch.action_confirm()
        self.assertEqual(batch.payment_count, 3)
        self.assertEqual(batch.exclusion_ids.registrant_id, self.people[1])
        self.assertIn("1 excluded", batch.message_ids[0].body)

    def test_officer_rights(self):
        with self.assertRaises(AccessError):
            self.connector.with_user(self.officer).write({"name": "mine"})
        batch = self.new_batch(self.people).with_user(self.officer)
        with self.assertRaises(AccessError):
            batch.unlink()
        form = Form(batch.with_user(self.officer))
        form.program_name = "Renamed"
        form.save()
        self.assertEqual(batch.program_name, "Renamed")
