from decimal import Decimal

from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import SIM, PaymentBatchCase, decimals, run_jobs


@tagged("post_install", "-at_install")
class TestHttpConnector(PaymentBatchCase, HttpCase):
    """A batch through the HTTP connector against this suite's bank app, served by
    Odoo's test HTTP server; the bank pushes its statements to the connector's
    upload URL, as the example bank pushes them to the G2P Bridge."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.ref("g2p_bank_rest_api.fastapi_endpoint_bank")._handle_registry_sync()
        client = cls.env["res.users"].create(
            {
                "name": "Program bank client",
                "login": "t_program_bank_client",
                "groups_id": [
                    Command.set([cls.env.ref("g2p_bank_rest_api.group_bank_api").id])
                ],
            }
        )
        cls.env["auth.api.key"].create(
            {"name": "program", "key": "t-program-key", "user_id": client.id}
        )
        icp = cls.env["ir.config_parameter"].sudo()
        icp.set_param("web.base.url", cls.base_url())
        cls.http = cls.env["g2p.bank.connector"].create(
            {
                "name": "Test HTTP bank",
                "connector_type": "http",
                "base_url": f"{cls.base_url()}/api/v1/bank",
                "api_key": "t-program-key",
                "timeout": 30,
                "retries": 1,
            }
        )
        icp.set_param(SIM + "statement_upload_url", cls.http.upload_url)
        cls.people = cls.registrants("T-HTTP", 12)
        cls.closed = cls.people[:2]
        for person in cls.closed:
            cls.sim_account(person.g2p_functional_id, state="closed")

    def test_end_to_end_over_http(self):
        batch = self.new_batch(
            self.people, amount="75.50", max_bank_batch_size=5
        ).with_user(self.officer)
        batch.with_context(g2p_transition=True).sudo().connector_id = self.http
        batch.action_confirm()
        batch.action_run()
        failed = run_jobs(self.env)
        self.assertFalse(failed, failed.mapped(lambda j: (j.name, j.exc_message)))
        batch.invalidate_recordset()
        self.assertEqual(batch.state, "reconciled", batch.step_error)
        self.assertEqual((batch.paid_count, batch.failed_count), (10, 2))
        failures = batch.payment_ids.filtered(lambda p: p.state == "failed")
        self.assertEqual(failures.registrant_id, self.closed)
        self.assertEqual(set(failures.mapped("failure_reason")), {"ACCOUNT_CLOSED"})
        self.assertEqual(len(set(batch.payment_ids.mapped("bank_batch_id"))), 3)
        pushed = batch.statement_ids.filtered(lambda s: s.source == "push")
        self.assertTrue(pushed, "the bank's own statements arrive by push")
        self.assertEqual(set(batch.statement_ids.mapped("state")), {"reconciled"})
        # Money, to the cent, at the bank.
        total, paid, failed_amount = self.batch_amounts(batch)
        self.assertEqual(
            (total, paid, failed_amount),
            (Decimal("906.00"), Decimal("755.00"), Decimal("151.00")),
        )
        self.assertEqual(
            self.fund_amounts(), (self.opening - paid, 0, self.opening - paid)
        )
        count = decimals(
            self.env,
            "SELECT count(*) FROM g2p_sim_payment WHERE remitting_account = %s",
            self.fund.account_number,
        )
        self.assertEqual(count, (12,))

    def test_fetch_statement_and_replay(self):
        """The connector's calls one by one: a replayed chunk is the same bank
        batch; a statement is fetched once written (409 before)."""
        batch = self.new_batch(self.people[2:5])
        batch.with_context(g2p_transition=True).connector_id = self.http
        batch.action_confirm()
        runner = self.env["g2p.payment.batch.runner"]
        runner._job_check_funds(batch)
        runner._job_block_funds(batch)
        self.assertEqual(batch.state, "funds_blocked", batch.step_error)
        _ids, requests = runner._next_chunk(batch)
        first = self.http.initiate_payment(requests)
        self.assertTrue(first.startswith("BATCH"))
        self.assertEqual(self.http.initiate_payment(requests), first)
        reference = self.http.request_statement(self.fund.account_number)
        self.assertIsNone(self.http.fetch_statement(reference))
        run_jobs(self.env)
        text = self.http.fetch_statement(reference)
        self.assertIn(":25:T-FUND-1", text)

    def test_repeated_block_step_blocks_once(self):
        """A block step repeated after its answer was lost (the job crashed before its
        commit) gets the same block from this suite's bank: money is blocked once."""
        batch = self.new_batch(self.people[5:8], amount="40.00")
        batch.with_context(g2p_transition=True).connector_id = self.http
        batch.action_confirm()
        runner = self.env["g2p.payment.batch.runner"]
        runner._job_check_funds(batch)
        first = self.http.block_funds(
            self.fund.account_number, "KES", Decimal("120.00"), batch.name
        )
        runner._job_block_funds(batch)
        self.assertEqual(batch.state, "funds_blocked", batch.step_error)
        self.assertEqual(batch.block_reference, first)
        self.assertEqual(
            self.fund_amounts(),
            (self.opening, Decimal("120.00"), self.opening - Decimal("120.00")),
        )

    def test_bank_errors_are_step_errors(self):
        wrong_key = self.http.copy({"name": "Wrong key", "api_key": "nope"})
        batch = self.new_batch(self.people[:2])
        batch.with_context(g2p_transition=True).connector_id = wrong_key
        batch.action_confirm()
        self.env["g2p.payment.batch.runner"]._job_check_funds(batch)
        self.assertEqual(batch.state, "confirmed")
        self.assertIn("refused", batch.step_error)
        # Nobody listening: bounded retries, then a clear error.
        nowhere = self.http.copy(
            {"name": "Nowhere", "base_url": "http://127.0.0.1:9/api", "retries": 1}
        )
        batch.with_context(g2p_transition=True).connector_id = nowhere
        self.env["g2p.payment.batch.runner"]._job_check_funds(batch)
        self.assertIn("did not answer after 2 attempts", batch.step_error)
