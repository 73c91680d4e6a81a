from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.g2p_payment_batch.models.g2p_bank_connector_simulator import (
    G2PBankConnectorSimulator,
)

from .common import PaymentBatchCase, decimals, run_jobs


@tagged("post_install", "-at_install")
class TestIdempotency(PaymentBatchCase):
    """Steps run twice change nothing; a crash in the middle of sending is retried
    without paying anyone twice; failed steps say why and can be retried."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.people = cls.registrants("T-IDEM", 25)
        cls.runner = cls.env["g2p.payment.batch.runner"]

    def sim_payment_counts(self):
        return decimals(
            self.env,
            """SELECT count(*), count(DISTINCT payment_reference_number)
                 FROM g2p_sim_payment WHERE remitting_account = %s""",
            self.fund.account_number,
        )

    def test_each_step_twice_changes_nothing(self):
        batch = self.new_batch(self.people, max_bank_batch_size=10)
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        self.assertEqual(batch.state, "funds_checked")
        self.assertIn("nothing to do", self.runner._job_check_funds(batch))
        self.runner._job_block_funds(batch)
        self.runner._job_block_funds(batch)
        blocks = self.env["g2p.sim.fund.block"].search(
            [("account_id", "=", self.fund.id)]
        )
        self.assertEqual(len(blocks), 1)
        self.assertEqual(self.fund_amounts()[1], Decimal("2500.00"))
        for _chunk in range(3):
            self.runner._job_send(batch)
        self.assertEqual(batch.state, "sent")
        self.assertIn("nothing to do", self.runner._job_send(batch))
        self.assertEqual(self.sim_payment_counts(), (25, 25))
        run_jobs(self.env)  # the bank's batch and statement jobs
        self.assertEqual(batch.state, "sent")
        batch.action_step()  # Obtain statements (then reconcile)
        run_jobs(self.env)
        self.assertEqual(batch.state, "reconciled")
        errors = self.env["g2p.payment.reconciliation.error"].search_count([])
        snapshot = batch.payment_ids.read(["state", "bank_reference", "statement_id"])
        self.assertIn("nothing to do", self.runner._job_reconcile(batch))
        for statement in batch.statement_ids:
            self.env["g2p.payment.reconciler"]._reconcile(statement)
        self.assertEqual(
            batch.payment_ids.read(["state", "bank_reference", "statement_id"]),
            snapshot,
        )
        self.assertEqual(
            self.env["g2p.payment.reconciliation.error"].search_count([]), errors
        )
        self.assertEqual(batch.paid_count, 25)

    def test_statement_written_before_the_bank_executed(self):
        """The statement asked for right after sending can be written before the bank
        executes the batch (the two are separate jobs): the batch asks again."""
        batch = self.new_batch(self.people[:6])
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        self.runner._job_block_funds(batch)
        self.runner._job_send(batch)
        self.assertEqual(batch.state, "sent")
        self.runner._job_obtain_statements(batch)
        early = batch.statement_request_ref
        self.assertTrue(early)
        # The bank writes that statement before executing the batch: it is empty.
        self.env["g2p.sim.statement"].search([("name", "=", early)])._job_generate()
        self.runner._job_obtain_statements(batch)
        imported = self.env["g2p.payment.statement"].search([("name", "=", early)])
        self.assertEqual(imported.state, "received")
        self.assertEqual(batch.state, "sent")
        failed = run_jobs(self.env)  # the bank executes; the batch asks again
        self.assertFalse(failed, failed.mapped("exc_message"))
        self.assertEqual(batch.state, "reconciled", batch.step_error)
        self.assertEqual(batch.paid_count, 6)
        self.assertNotEqual(batch.statement_request_ref, early)

    def sent_batch_the_bank_never_reports(self):
        """A batch sent to the bank, whose payments are never executed (the bank's
        job does not run in these tests)."""
        batch = self.new_batch(self.people[:2])
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        self.runner._job_block_funds(batch)
        self.runner._job_send(batch)
        return batch

    def reconcile_until_it_stops_asking(self, batch):
        """Run the reconcile step, and the statement request it schedules, until it
        schedules none; the pauses it asked for, in seconds."""
        delays = []
        while True:
            # queue_job's eta has microseconds (fields.Datetime.now() has none).
            before = datetime.now(UTC).replace(tzinfo=None)
            self.runner._job_reconcile(batch)
            job = self.env["queue.job"].search(
                [
                    (
                        "identity_key",
                        "=",
                        self.runner._identity_key(batch, "_job_obtain_statements"),
                    ),
                    ("state", "=", "pending"),
                ]
            )
            if not job:
                return delays
            delays.append((job.eta - before).total_seconds())
            job.state = "done"  # asked: the next reconcile may ask again

    def test_asks_again_soon_then_less_often_for_about_an_hour(self):
        """Payments still without outcome (the bank has not executed them): the batch
        asks for statements again a second later, then ever less often, and stops
        after about an hour."""
        batch = self.sent_batch_the_bank_never_reports()
        delays = self.reconcile_until_it_stops_asking(batch)
        self.assertEqual(batch.state, "sent")
        self.assertEqual(batch.statement_attempts, len(delays))
        self.assertLessEqual(delays[0], 2)
        # Never shorter than the one before (give or take the reconcile's own time).
        self.assertTrue(all(b >= a - 1 for a, b in pairwise(delays)), delays)
        self.assertLessEqual(max(delays), 901)
        self.assertGreaterEqual(sum(delays), 3600)
        self.assertLessEqual(sum(delays), 2 * 3600)

    def test_tells_the_officer_when_it_stops_asking(self):
        """Payments still without outcome when the batch stops asking for statements:
        a warning activity for the batch's creator says so and where to look; once,
        however often the batch is reconciled again (a statement pushed later, the
        officer's Obtain statements)."""
        batch = self.sent_batch_the_bank_never_reports()
        warning = self.env.ref("mail.mail_activity_data_warning")
        self.assertFalse(batch.activity_ids)
        self.reconcile_until_it_stops_asking(batch)
        self.assertEqual(batch.activity_ids.activity_type_id, warning)
        self.assertEqual(batch.activity_ids.user_id, batch.create_uid)
        self.assertIn("2 payments without outcome", batch.activity_ids.summary)
        self.assertIn("upload URL", batch.activity_ids.note)
        self.runner._job_reconcile(batch)
        self.assertEqual(len(batch.activity_ids), 1)

    def test_crash_while_sending_then_retry(self):
        batch = self.new_batch(self.people, max_bank_batch_size=10)
        batch.action_confirm()
        original = G2PBankConnectorSimulator._initiate_payment
        calls = []

        def crash_on_second_chunk(model, connector, payment_dicts):
            calls.append(len(payment_dicts))
            batch_id = original(model, connector, payment_dicts)
            if len(calls) == 2:
                raise RuntimeError("worker killed")
            return batch_id

        with patch.object(
            G2PBankConnectorSimulator, "_initiate_payment", crash_on_second_chunk
        ):
            batch.action_run()
            failed = run_jobs(self.env)
        self.assertEqual(len(failed), 1)
        self.assertEqual(batch.state, "sending")
        self.assertIn("worker killed", batch.step_failure)
        self.assertFalse(batch.step_running)
        # The crash rolled back the second chunk on both sides.
        self.assertEqual((batch.sent_count, batch.issued_count), (10, 15))
        self.assertEqual(self.sim_payment_counts()[0], 10)

        batch.action_step()  # Retry
        self.assertFalse(run_jobs(self.env))
        self.assertEqual(batch.state, "reconciled")
        self.assertEqual(self.sim_payment_counts(), (25, 25))
        self.assertEqual(batch.paid_count, 25)
        book = self.fund_amounts()[0]
        self.assertEqual(book, self.opening - Decimal("2500.00"))

    def test_a_step_whose_worker_keeps_dying_says_so_and_can_be_retried(self):
        """The send step's job left started by workers that died (no liveness lock
        held, as after a kill): the cron runs it again, and once it died
        max_retries times the batch shows why and offers Retry, which pays once."""
        batch = self.new_batch(self.people[:3])
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        self.runner._job_block_funds(batch)
        batch.action_step()
        job = batch.step_job_id
        self.assertEqual(job.method_name, "_job_send")
        dead_jobs = self.env["queue.job"]._g2p_requeue_dead_jobs
        job.state = "started"
        self.assertEqual(dead_jobs(), job)
        self.assertEqual((job.state, job.retry), ("pending", 1))
        self.assertTrue(batch.step_running)
        job.write({"state": "started", "retry": job.max_retries - 1})
        self.assertEqual(dead_jobs(), job)
        self.assertEqual(job.state, "failed")
        batch.invalidate_recordset(["step_running", "step_failure"])
        self.assertFalse(batch.step_running)
        self.assertIn("stopped before the job ended", batch.step_failure)
        self.assertEqual(batch.state, "funds_blocked")

        batch.action_run()  # Retry, and the steps after it
        self.assertFalse(run_jobs(self.env))
        self.assertEqual(batch.state, "reconciled")
        self.assertEqual(self.sim_payment_counts(), (3, 3))
        self.assertEqual(batch.paid_count, 3)

    def test_http_style_replay_of_a_chunk_is_not_paid_twice(self):
        """A chunk the bank accepted but whose answer was lost is sent again with
        the same references: the bank answers with the same batch."""
        batch = self.new_batch(self.people[:5])
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        self.runner._job_block_funds(batch)
        _ids, requests = self.runner._next_chunk(batch)
        first = self.connector.initiate_payment(requests)
        again = self.connector.initiate_payment(requests)
        self.assertEqual(first, again)
        self.assertEqual(self.sim_payment_counts(), (5, 5))

    def test_insufficient_funds_keeps_the_state_with_the_reason(self):
        people = self.people[:3]
        batch = self.new_batch(people, amount=str(self.opening))
        batch.action_confirm()
        batch.action_run()
        self.assertFalse(run_jobs(self.env))
        self.assertEqual(batch.state, "confirmed")
        self.assertIn("has not", batch.step_error)
        self.assertIn("Step failed", " ".join(batch.message_ids.mapped("body")))
        self.assertEqual(self.fund_amounts()[1], Decimal(0))
        # Top up, Retry: the batch goes on from where it stopped.
        self.fund.deposit(self.opening * 2, "TOPUP")
        batch.action_step()
        self.assertFalse(batch.step_error)
        run_jobs(self.env)
        self.assertEqual(batch.state, "reconciled")

    def test_cancel_releases_the_block(self):
        batch = self.new_batch(self.people[:4])
        batch.action_confirm()
        self.runner._job_check_funds(batch)
        self.runner._job_block_funds(batch)
        self.assertEqual(self.fund_amounts()[1], Decimal("400.00"))
        batch.action_cancel()
        self.assertEqual(batch.state, "cancelled")
        self.assertEqual(self.fund_amounts(), (self.opening, 0, self.opening))
        self.assertEqual(set(batch.payment_ids.mapped("state")), {"cancelled"})
        block = self.env["g2p.sim.fund.block"].search(
            [("reference", "=", batch.block_reference)]
        )
        self.assertEqual(block.state, "released")
