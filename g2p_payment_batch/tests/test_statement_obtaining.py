import base64

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.queue_job.job import Job

from .common import PaymentBatchCase, run_jobs


@tagged("post_install", "-at_install")
class TestStatementObtaining(PaymentBatchCase):
    """How a sent batch obtains its statements: whatever the bank failed to write,
    whoever imported them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.people = cls.registrants("T-OBT", 3)
        cls.runner = cls.env["g2p.payment.batch.runner"]
        cls.bank = cls.env["g2p.sim.bank"].sudo()

    def sent_batch(self):
        batch = self.new_batch(self.people)
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        self.runner._job_block_funds(batch)
        self.runner._job_send(batch)
        self.assertEqual(batch.state, "sent")
        return batch

    def fail_at_the_bank(self, statement):
        """The bank could not write ``statement`` (its job does not run)."""
        self.env["queue.job"].search(
            [("identity_key", "=", f"g2p_sim_statement_{statement.id}")]
        ).state = "cancelled"
        statement.write({"state": "failed", "error": "disk full"})

    def test_a_failed_statement_of_the_account_is_skipped(self):
        """The bank failed to write a statement of the funding account (any batch's):
        the batch reconciles from the others. It stayed sent for good ("The bank
        could not write statement …")."""
        self.fail_at_the_bank(self.bank.generate_statement(self.fund.account_number))
        batch = self.sent_batch()
        failed = run_jobs(self.env)  # the bank executes and writes its statement
        self.assertFalse(failed, failed.mapped("exc_message"))
        batch.action_step()  # Obtain statements
        self.assertFalse(run_jobs(self.env))
        self.assertEqual(batch.state, "reconciled", batch.step_error)
        self.assertEqual(batch.paid_count, 3)

    def test_the_requested_statement_failed(self):
        """The statement the batch asked for failed at the bank: noted, skipped, and
        a new one is asked for (its entries are in the next statement)."""
        self.connector.ask_statement = True
        batch = self.sent_batch()
        self.runner._job_obtain_statements(batch)
        asked = batch.statement_request_ref
        asked_statement = self.env["g2p.sim.statement"].search([("name", "=", asked)])
        self.fail_at_the_bank(asked_statement)
        failed = run_jobs(self.env)
        self.assertFalse(failed, failed.mapped("exc_message"))
        self.assertEqual(batch.state, "reconciled", batch.step_error)
        self.assertFalse(batch.step_error)
        self.assertIn(
            f"could not write {asked}: skipped",
            " ".join(batch.message_ids.mapped("body")),
        )
        self.assertNotEqual(batch.statement_request_ref, asked)

    def test_a_statement_uploaded_by_hand_is_reconciled_by_the_batch(self):
        """The bank's statement uploaded by hand (not reconciled) before the batch
        fetched it: obtaining statements reconciles it. The batch found it by its
        text, counted it "imported" and left it received: sent for good."""
        self.connector.ask_statement = False
        batch = self.sent_batch()
        run_jobs(self.env)  # the bank executes and writes its statement
        written = self.env["g2p.sim.statement"].search(
            [("account_id", "=", self.fund.id), ("state", "=", "done")]
        )
        self.assertTrue(written)
        uploads = self.env["g2p.payment.statement"]
        for text in written.mapped("mt940_text"):
            uploads |= (
                self.env["g2p.payment.statement"]
                .with_user(self.officer)
                .create({"mt940_file": base64.b64encode(text.encode())})
            )
        batch.action_step()  # Obtain statements
        self.assertFalse(run_jobs(self.env))
        self.assertEqual(batch.state, "reconciled", batch.step_error)
        self.assertEqual(set(uploads.mapped("state")), {"reconciled"})
        self.assertEqual(batch.statement_ids, uploads.sudo())

    def test_a_statement_that_does_not_add_up_is_refused(self):
        """The connector fetches a statement whose balances do not add up: not
        imported, named in the chatter, and the batch keeps waiting for the bank's
        statements (no step error that Retry would hit again)."""
        self.connector.ask_statement = False
        batch = self.sent_batch()
        run_jobs(self.env)  # the bank executes and writes its statement
        written = self.env["g2p.sim.statement"].search(
            [("account_id", "=", self.fund.id), ("state", "=", "done")]
        )
        self.assertEqual(len(written), 1)
        text = written.mt940_text
        closing = text[text.index(":62F:") : text.index("\r\n", text.index(":62F:"))]
        written.attachment_id.raw = text.replace(
            closing, closing[:-4] + "9,99"
        ).encode()
        written.invalidate_recordset()
        self.runner._job_obtain_statements(batch)
        self.assertFalse(batch.step_error)
        self.assertIn("does not add up", batch.message_ids[0].body)
        self.assertFalse(
            self.env["g2p.payment.statement"].search([("name", "=", written.name)])
        )
        self.runner._job_reconcile(batch)
        self.assertEqual((batch.state, batch.paid_count), ("sent", 0))

    def waiting_retry(self):
        """A sent batch the bank has not reported yet, its next statement request
        waiting for its time (the bank's jobs do not run)."""
        batch = self.sent_batch()
        self.runner._job_obtain_statements(batch)
        self.runner._job_reconcile(batch)
        self.env["queue.job"].search(  # the reconcile job, run just above
            [("identity_key", "=", self.runner._identity_key(batch, "_job_reconcile"))]
        ).state = "done"
        retry = self.env["queue.job"].search(
            [
                (
                    "identity_key",
                    "=",
                    self.runner._identity_key(batch, "_job_obtain_statements"),
                ),
                ("state", "=", "pending"),
            ]
        )
        self.assertEqual(len(retry), 1)
        self.assertTrue(retry.eta)
        return batch, retry

    def test_obtain_statements_while_a_retry_waits(self):
        """Obtain statements now while the batch's own request waits (up to 15
        minutes): the waiting job runs now, no second one. The button was hidden
        and the call refused ("A step … is already running")."""
        batch, retry = self.waiting_retry()
        self.assertFalse(batch.step_running)
        batch.with_user(self.officer).action_step()
        self.assertFalse(retry.eta)
        self.assertEqual(batch.step_job_id, retry)
        self.assertTrue(batch.step_running)
        self.assertEqual(
            self.env["queue.job"].search_count(
                [
                    ("method_name", "=", "_job_obtain_statements"),
                    ("state", "!=", "done"),
                ]
            ),
            1,
        )

    def test_not_twice_at_once(self):
        """While the batch's own request runs, the officer's is refused."""
        batch, retry = self.waiting_retry()
        retry.state = "started"
        with self.assertRaises(UserError):
            batch.with_user(self.officer).action_step()

    def test_reconciled_meanwhile_is_not_busy(self):
        """The bank's statement arrives (pushed, uploaded) while the batch's request
        waits: the reconciled batch does not show "A step is running"; the request
        then finds nothing to do."""
        batch, retry = self.waiting_retry()
        for _round in range(3):  # the bank executes and writes its statements
            for job in self.env["queue.job"].search(
                [("model_name", "like", "g2p.sim."), ("state", "=", "pending")]
            ):
                Job.load(self.env, job.uuid).perform()
                job.state = "done"
        for written in self.env["g2p.sim.statement"].search(
            [("account_id", "=", self.fund.id), ("state", "=", "done")]
        ):
            self.env["g2p.payment.statement"]._import_text(
                written.mt940_text, "push", self.connector
            )._job_reconcile()
        self.assertEqual(batch.state, "reconciled")
        self.assertFalse(batch.step_running)
        self.assertEqual(retry.state, "pending")
        self.assertIn("nothing to do", self.runner._job_obtain_statements(batch))
