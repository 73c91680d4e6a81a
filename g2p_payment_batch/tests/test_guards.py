import base64
from decimal import Decimal
from unittest.mock import patch

from lxml import etree

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import SQL

from odoo.addons.g2p_payment_batch.models.g2p_bank_connector import (
    G2PBankConnectorError,
)
from odoo.addons.g2p_payment_batch.models.g2p_bank_connector_simulator import (
    G2PBankConnectorSimulator,
)

from .common import PaymentBatchCase, run_jobs
from .test_reconciliation import entry, statement_text


@tagged("post_install", "-at_install")
class TestGuards(PaymentBatchCase):
    """What officers cannot do to a batch, and what a batch does with bad data:
    nobody paid twice, nothing owned by the steps written by hand, no batch stuck."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.people = cls.registrants("T-GRD", 4)
        cls.runner = cls.env["g2p.payment.batch.runner"]

    def officer_batch(self, people=None, amount="10.00", **vals):
        return self.new_batch(
            self.people if people is None else people, amount=amount, **vals
        ).with_user(self.officer)

    def sim_payments(self):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM g2p_sim_payment WHERE remitting_account = %s",
                self.fund.account_number,
            )
        )
        return self.env.cr.fetchone()[0]

    # ------------------------------------------------------------ 1. duplicates
    def test_a_registrant_is_refused_twice_in_a_batch(self):
        batch = self.officer_batch(self.people[:1])
        person = self.people[1]
        with self.assertRaisesRegex(ValidationError, "T-GRD-0002.*at most once"):
            batch.write(
                {
                    "payment_ids": [
                        (0, 0, {"registrant_id": person.id, "amount": 6}),
                        (0, 0, {"registrant_id": person.id, "amount": 600}),
                    ]
                }
            )
        with self.assertRaisesRegex(ValidationError, "T-GRD-0001"):
            batch.write({"payment_ids": [(0, 0, {"registrant_id": self.people[0].id})]})
        with (
            self.assertRaisesRegex(ValidationError, "T-GRD-0002"),
            self.env.cr.savepoint(),  # a request is rolled back on the error
        ):
            batch.write(
                {
                    "payment_ids": [
                        (0, 0, {"registrant_id": person.id, "amount": 6}),
                        (1, batch.payment_ids.id, {"registrant_id": person.id}),
                    ]
                }
            )
        self.env.invalidate_all()
        self.assertEqual(batch.payment_ids.registrant_id, self.people[0])
        self.assertEqual(batch.payment_count, 1)

    def test_a_duplicate_already_in_a_batch_is_excluded_at_confirmation(self):
        """A batch that holds a registrant twice (added before the check, or by two
        officers at once) pays them once: the later payment becomes an exclusion."""
        batch = self.officer_batch(self.people[:2])
        first = batch.payment_ids.sorted("id")[0]
        self.env.cr.execute(
            SQL(
                """INSERT INTO g2p_payment (name, batch_id, registrant_id, amount,
                          state, currency_id)
                   VALUES ('PAYDUPLICATE01', %s, %s, 600, 'issued', %s)""",
                batch.id,
                first.registrant_id.id,
                self.kes.id,
            )
        )
        self.env.invalidate_all()
        batch.action_confirm()
        self.assertEqual(batch.payment_count, 2)
        self.assertEqual(
            batch.exclusion_ids.mapped("reason"), ["duplicate"], "said, not dropped"
        )
        self.assertEqual(batch.exclusion_ids.registrant_id, first.registrant_id)
        self.assertEqual(batch.payment_ids.mapped("amount"), [10.0, 10.0])

    # ------------------------------------------------------- 3. expected state
    def test_a_step_button_runs_only_the_step_it_was_shown_for(self):
        batch = self.officer_batch()
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        click = batch.with_context(g2p_expected_state="funds_checked")
        click.action_step()  # Block funds
        self.assertFalse(run_jobs(self.env))
        self.assertEqual(batch.state, "funds_blocked")
        # The same click again (a double click, or the request retried): refused.
        with self.assertRaisesRegex(UserError, "now Funds blocked.*Funds checked"):
            click.action_step()
        with self.assertRaisesRegex(UserError, "now Funds blocked"):
            click.action_run()
        run_jobs(self.env)
        self.assertEqual(batch.state, "funds_blocked")
        self.assertEqual(self.sim_payments(), 0)
        # Run all steps from where the batch is.
        batch.with_context(g2p_expected_state="funds_blocked").action_run()
        self.assertFalse(run_jobs(self.env))
        self.assertEqual(batch.state, "reconciled")

    def test_step_buttons_say_which_state_they_were_shown_for(self):
        arch = self.env["g2p.payment.batch"].get_view(view_type="form")["arch"]
        buttons = etree.fromstring(arch).xpath(
            "//button[@name='action_step' or @name='action_run']"
        )
        self.assertEqual(len(buttons), 6)
        for button in buttons:
            self.assertIn("'g2p_expected_state': state", button.get("context"))

    # ---------------------------------------------------- 4. fields of the steps
    def test_officers_cannot_write_what_the_steps_own(self):
        batch = self.officer_batch()
        other = self.officer_batch(self.people[:1])
        for vals in (
            {"block_reference": other.name},
            {"paid_count": 4},
            {"amount_paid": 40},
            {"step_error": "x"},
            {"statement_attempts": 99},
            {"auto_continue": True},
            {"state": "sent"},
        ):
            with self.assertRaisesRegex(UserError, "only through the batch's steps"):
                batch.write(vals)
        with self.assertRaisesRegex(UserError, "only through the batch's steps"):
            self.env["g2p.payment.batch"].with_user(self.officer).create(
                {
                    "program_name": "P",
                    "connector_id": self.connector.id,
                    "funding_account_number": "X",
                    "block_reference": other.name,
                }
            )
        with self.assertRaisesRegex(UserError, "set by the batch's steps"):
            self.env["g2p.payment"].with_user(self.officer).create(
                {
                    "batch_id": other.id,
                    "registrant_id": self.people[3].id,
                    "amount": 1,
                    "state": "paid",
                }
            )
        batch.action_confirm()
        payment = batch.payment_ids[0]
        for vals in (
            {"state": "paid"},
            {"account_number": "HACKED-ACCT"},
            {"bank_reference": "X"},
            {"name": "PAY0"},
        ):
            with self.assertRaisesRegex(UserError, "set by the batch's steps"):
                payment.write(vals)
        self.assertEqual(payment.state, "issued")
        self.assertEqual(
            payment.account_number, payment.registrant_id.bank_ids.acc_number
        )
        # The steps' context key, which any RPC call may pass, opens nothing.
        forged = {"g2p_transition": True}
        with self.assertRaisesRegex(UserError, "set by the batch's steps"):
            payment.with_context(**forged).write({"account_number": "HACKED-ACCT"})
        with self.assertRaisesRegex(UserError, "only through the batch's steps"):
            other.with_context(**forged).write({"block_reference": batch.name})
        # The steps still can.
        batch.action_run()
        self.assertFalse(run_jobs(self.env))
        self.assertEqual((batch.state, batch.paid_count), ("reconciled", 4))

    def test_the_name_is_the_sequence_s(self):
        """The batch name is the bank's block reference (an idempotency key): an
        officer who chose the name of another client's block got that block back
        as a replay and paid from it; a name over 16 characters stopped the batch
        at its block step. Nobody chooses it."""
        block = (
            self.env["g2p.sim.bank"]
            .sudo()
            .block_funds(
                self.fund.account_number, "KES", Decimal("40.00"), "T-BLK-OTHER"
            )
        )
        Batch = self.env["g2p.payment.batch"].with_user(self.officer)
        vals = {
            "program_name": "P",
            "connector_id": self.connector.id,
            "funding_account_number": self.fund.account_number,
        }
        for name in ("T-BLK-OTHER", "T-A-NAME-LONGER-THAN-16"):
            with self.assertRaisesRegex(UserError, "comes from the sequence"):
                Batch.create({**vals, "name": name})
        batch = Batch.create(dict(vals))
        self.assertRegex(batch.name, r"^PB\d{10}$")
        with self.assertRaisesRegex(UserError, "comes from the sequence"):
            batch.write({"name": "T-BLK-OTHER"})
        self.assertEqual(block.state, "active")
        sequence = self.env.ref("g2p_payment_batch.seq_g2p_payment_batch")
        sequence.prefix = "PROGRAM-"
        with self.assertRaisesRegex(UserError, "1 to 16 characters"):
            Batch.create(vals)

    def test_header_texts_are_one_stripped_line(self):
        """A funding account typed with a trailing space passed check, block and
        send (the bank strips it), but its statements were never found: the batch
        asked for an hour and stayed sent. The header's one-line texts are
        stripped, and refused with a line break or a control character."""
        batch = self.officer_batch(
            funding_account_number=f"{self.fund.account_number} ",
            program_name=" Test program ",
        )
        self.assertEqual(batch.funding_account_number, self.fund.account_number)
        self.assertEqual(batch.program_name, "Test program")
        batch.write({"cycle_mnemonic": " C2\u00a0"})
        self.assertEqual(batch.cycle_mnemonic, "C2")
        for vals in (
            {"funding_account_number": "T-FUND-1\n"},
            {"program_name": "Cash\tfor all"},
            {"narrative": "one\rtwo"},
            {"program_mnemonic": "P\x7f"},
        ):
            with self.subTest(vals=vals):
                with self.assertRaisesRegex(UserError, "one line of text"):
                    batch.write(vals)
                with self.assertRaisesRegex(UserError, "one line of text"):
                    self.officer_batch(**vals)
        with self.assertRaisesRegex(UserError, "cannot be empty"):
            batch.write({"funding_account_number": "  "})
        batch.action_confirm()
        batch.action_run()
        self.assertFalse(run_jobs(self.env))
        self.assertEqual((batch.state, batch.paid_count), ("reconciled", 4))

    def test_exclusions_and_errors_are_read_only(self):
        """Exclusions and reconciliation errors are the process's record: an officer
        could create, change and delete them on any batch. Now read-only; the
        wizards, the confirmation and the reconciliation still write them."""
        unpayable = self.env["res.partner"].create(
            {"name": "No account", "is_registrant": True}
        )
        batch = self.officer_batch()
        wizard = (
            self.env["g2p.payment.add.registrants"]
            .with_user(self.officer)
            .create(
                {
                    "batch_id": batch.id,
                    "domain": f"[('id', '=', {unpayable.id})]",
                    "amount": 5,
                }
            )
        )
        wizard.action_add()
        self.people[3].bank_ids.g2p_state = "closed"
        batch.action_confirm()  # as the officer: an exclusion more
        self.assertEqual(
            sorted(batch.exclusion_ids.mapped("reason")), ["no_account", "no_account"]
        )
        text = statement_text([entry("D", "5.00", "PAY9999999999999", "SIM1")])
        self.env["g2p.payment.statement"].with_user(self.officer).create(
            {"mt940_text": text}
        ).action_reconcile()
        errors = self.env["g2p.payment.reconciliation.error"].with_user(self.officer)
        error = errors.search([("customer_reference", "=", "PAY9999999999999")])
        self.assertEqual(error.reason, "unknown_reference")
        exclusion = batch.exclusion_ids[0]
        for attempt in (
            lambda: exclusion.write({"reason": "duplicate"}),
            lambda: exclusion.unlink(),
            lambda: exclusion.create({"batch_id": batch.id, "reason": "currency"}),
            lambda: error.write({"reason": "duplicate"}),
            lambda: error.unlink(),
            lambda: errors.create(
                {"statement_id": error.statement_id.id, "reason": "duplicate"}
            ),
        ):
            with self.assertRaises(AccessError):
                attempt()

    # ------------------------------------------------------------ 8. totals
    def test_draft_totals_follow_edits_and_removals(self):
        batch = self.officer_batch(amount="10.00")
        self.assertEqual((batch.payment_count, batch.amount_total), (4, 40.0))
        with Form(batch) as form, form.payment_ids.edit(0) as line:
            line.amount = 5
        self.assertEqual(batch.amount_total, 35.0)
        batch.payment_ids.sorted("id")[-1].unlink()
        self.assertEqual((batch.payment_count, batch.amount_total), (3, 25.0))
        batch.payment_ids.sorted("id")[0].amount = 1.5
        self.assertEqual(batch.amount_total, 21.5)

    # ------------------------------------------------------------ 5. cancel
    def test_cancel_says_why_not(self):
        """Cancel refused says the true reason: it said "payments may have reached
        the bank" for a cancelled or reconciled batch and for a confirmed batch
        whose check-funds job was merely waiting. The chatter writes amounts like
        every other message, and counts of one in the singular."""
        batch = self.officer_batch(amount="350.25")
        batch.action_confirm()
        batch.action_step()  # check funds: waiting
        with self.assertRaisesRegex(UserError, "A step of .* is waiting or running"):
            batch.action_cancel()
        self.assertFalse(run_jobs(self.env))
        bodies = " ".join(batch.message_ids.mapped("body"))
        self.assertIn("Funds checked: 1,401.00 KES available", bodies)
        batch.action_run()
        self.assertFalse(run_jobs(self.env))
        self.assertIn(
            "Funds blocked: 1,401.00 KES", " ".join(batch.message_ids.mapped("body"))
        )
        with self.assertRaisesRegex(
            UserError, "is Reconciled: its payments were executed"
        ):
            batch.action_cancel()
        other = self.officer_batch(self.people[:1])
        other.action_cancel()
        with self.assertRaisesRegex(UserError, "already cancelled"):
            other.action_cancel()
        draft = self.officer_batch(self.people[:0])
        self.env["g2p.payment.add.registrants"].with_user(self.officer).create(
            {
                "batch_id": draft.id,
                "domain": f"[('id', '=', {self.people[0].id})]",
                "amount": 5,
            }
        ).action_add()
        bodies = " ".join(draft.message_ids.mapped("body"))
        self.assertIn("1 payment added with 5.00 KES each", bodies)

    def test_cancel_when_the_bank_no_longer_holds_the_block(self):
        batch = self.officer_batch()
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        self.runner._job_block_funds(batch)
        self.env["g2p.sim.fund.block"].search(
            [("reference", "=", batch.block_reference)]
        ).action_release()  # the bank's operator
        self.assertEqual(self.fund_amounts(), (self.opening, 0, self.opening))
        batch.action_cancel()
        self.assertEqual(batch.state, "cancelled")
        self.assertIn("nothing to release", batch.message_ids[0].body)
        self.assertIn("released", batch.message_ids[0].body)
        self.assertEqual(self.fund_amounts(), (self.opening, 0, self.opening))

    def test_cancel_releases_a_block_whose_answer_was_lost(self):
        """The bank blocked the funds under the batch's name, its answer never came
        (UNREACHABLE): the batch has no block reference, cancelling releases it."""
        batch = self.officer_batch()
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        total = batch._total()

        def blocked_but_unanswered(model, connector, account, currency, amount, ref):
            self.env["g2p.sim.bank"].sudo().block_funds(account, currency, amount, ref)
            raise G2PBankConnectorError("UNREACHABLE", "The bank did not answer.")

        with patch.object(
            G2PBankConnectorSimulator, "_block_funds", blocked_but_unanswered
        ):
            batch.action_step()
            run_jobs(self.env)
        self.assertEqual(batch.state, "funds_checked")
        self.assertFalse(batch.block_reference)
        self.assertIn("did not answer", batch.step_error)
        # The step's savepoint undid the block; it is there in a real bank's database.
        self.env["g2p.sim.bank"].sudo().block_funds(
            self.fund.account_number, "KES", total, batch.name
        )
        self.assertEqual(self.fund_amounts()[1], total)
        batch.action_cancel()
        self.assertEqual(batch.state, "cancelled")
        self.assertIn(f"fund block {batch.name} released", batch.message_ids[0].body)
        self.assertEqual(self.fund_amounts(), (self.opening, 0, self.opening))

    def test_cancel_before_any_block_calls_no_bank(self):
        batch = self.officer_batch()
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        batch.action_cancel()
        self.assertEqual(batch.message_ids[0].body, "<p>Cancelled.</p>")

    # ------------------------------------------------- 6. details the bank refuses
    def test_details_the_bank_refuses_are_excluded_at_confirmation(self):
        long_name = self.registrants("T-LONG", 1)
        long_name.name = "L" * 300
        control = self.registrants("T-CTRL", 1)
        control.name = "Bell\x07Person"
        batch = self.officer_batch(
            self.people | long_name | control, max_bank_batch_size=1
        )
        batch.action_confirm()
        self.assertEqual(batch.payment_count, 4)
        self.assertEqual(batch.exclusion_ids.mapped("reason"), ["refused_details"] * 2)
        details = batch.exclusion_ids.sorted("registrant_id").mapped("detail")
        self.assertIn("T-LONG-0001", details[0])
        self.assertIn("beneficiary_name has 300 characters", details[0])
        self.assertIn("at most 255", details[0])
        self.assertIn("T-CTRL-0001", details[1])
        self.assertIn("control character", details[1])
        batch.action_run()
        self.assertFalse(run_jobs(self.env))
        self.assertEqual((batch.state, batch.paid_count), ("reconciled", 4))

    def test_batch_details_the_bank_refuses_are_an_error_at_confirmation(self):
        batch = self.officer_batch(program_name="P" * 300)
        with self.assertRaisesRegex(UserError, "narrative_1 has 300 characters"):
            batch.action_confirm()
        self.assertEqual(batch.state, "draft")

    def test_a_send_error_names_the_payment(self):
        """A payment confirmed before the check (its snapshot changed in SQL here)
        that the bank refuses: the step error says which one."""
        batch = self.officer_batch(max_bank_batch_size=1)
        batch.action_confirm()
        payment = batch.payment_ids.sorted("id")[2]
        self.env.cr.execute(
            SQL(
                "UPDATE g2p_payment SET holder_name = %s WHERE id = %s",
                "H" * 300,
                payment.id,
            )
        )
        batch.action_run()
        self.assertFalse(run_jobs(self.env))
        self.assertEqual(batch.state, "sending")
        self.assertIn("at most 255 characters", batch.step_error)
        self.assertIn(payment.name, batch.step_error)
        self.assertIn("T-GRD-0003", batch.step_error)

    # ---------------------------------------------------------------- 7. amounts
    def csv_errors(self, batch, text):
        wizard = (
            self.env["g2p.payment.import.csv"]
            .with_user(self.officer)
            .create({"batch_id": batch.id, "csv_file": base64.b64encode(text.encode())})
        )
        wizard.action_preview()
        return wizard.line_ids.sorted("row").mapped("error")

    def test_csv_rows_with_extra_columns_or_huge_amounts_are_refused(self):
        batch = self.officer_batch([])
        errors = self.csv_errors(
            batch,
            "T-GRD-0001,1,000\n"
            "T-GRD-0002,99999999999999999999\n"
            "T-GRD-0003,999999999999.99\n"
            "T-GRD-0004,1000000000000\n",
        )
        self.assertIn("3 columns", errors[0])
        self.assertIn("too large", errors[1])
        self.assertIn("999,999,999,999.99 KES", errors[1])
        self.assertFalse(errors[2])
        self.assertIn("too large", errors[3])

    def test_add_registrants_refuses_what_csv_refuses(self):
        batch = self.officer_batch([])
        wizard = self.env["g2p.payment.add.registrants"].with_user(self.officer)
        domain = "[('g2p_functional_id', '=like', 'T-GRD-%')]"
        for amount, error in (
            (20.004, "more than 2 decimals"),
            (1e13, "too large"),
            (0, "positive"),
        ):
            with self.assertRaisesRegex(UserError, error):
                wizard.create(
                    {"batch_id": batch.id, "domain": domain, "amount": amount}
                )
        wizard.create(
            {"batch_id": batch.id, "domain": domain, "amount": 999999999999.99}
        ).action_add()
        self.assertEqual(self.batch_amounts(batch)[0], Decimal("999999999999.99") * 4)

    def test_amounts_typed_in_the_payment_list_are_checked_as_the_wizards_do(self):
        batch = self.officer_batch(self.people[:1])
        payment = batch.payment_ids
        for amount, error in (
            (20.004, "more than 2 decimals"),
            (1e13, "too large"),
            (-5, "positive"),
        ):
            with self.subTest(amount), self.assertRaisesRegex(ValidationError, error):
                payment.write({"amount": amount})
            with self.subTest(amount), self.assertRaisesRegex(ValidationError, error):
                batch.write(
                    {
                        "payment_ids": [
                            (
                                0,
                                0,
                                {"registrant_id": self.people[1].id, "amount": amount},
                            )
                        ]
                    }
                )
        self.assertEqual((batch.payment_count, payment.amount), (1, 10.0))

    # -------------------------------------------------------------- 9. wording
    def test_messages_count_and_show_currency_codes(self):
        batch = self.officer_batch(self.people[:1], amount="1234.50")
        batch.action_confirm()
        batch.action_run()
        self.assertFalse(run_jobs(self.env))
        bodies = " ".join(batch.message_ids.mapped("body"))
        self.assertIn("Confirmed: 1 payment, 1,234.50 KES", bodies)
        self.assertIn("1 payment sent as bank batch", bodies)
        self.assertIn("paid (1,234.50 KES)", bodies)
        self.assertNotIn("KSh", bodies)
        self.assertNotIn("1 payments", bodies)

    def test_a_cancelled_batch_shows_its_payments_and_no_progress(self):
        batch = self.officer_batch()
        batch.action_confirm()
        batch.action_cancel()
        self.assertEqual((batch.payment_count, batch.progress), (4, 0))
