import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

from odoo import fields
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import PARAM, SimBankCase


class TestStatement(SimBankCase):
    """Needs the MT940 writer (g2p_bank_simulator.mt940)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.block = cls.env["g2p.sim.bank"].block_funds("T-PROG-1", "EUR", "600.00")
        cls._open("T-BEN-CLOSED", state="closed")

    def _pay(self, *payments):
        with trap_jobs():
            batch = self.bank.initiate_payment(list(payments))
            self.bank.process_batch(batch)
        return batch

    def _generate(self, number="T-PROG-1"):
        with trap_jobs() as trap:
            statement = self.bank.generate_statement(number)
            trap.assert_enqueued_job(
                statement._job_generate,
                properties={
                    "channel": "root.g2p_bank_simulator.statement",
                    "identity_key": f"g2p_sim_statement_{statement.id}",
                },
            )
            self.assertEqual(statement.state, "pending")
            trap.perform_enqueued_jobs()
        return statement

    def test_statements_cover_each_entry_once(self):
        self._pay(
            self._payment("ST-1", "100.00", self.block, "T-BEN-1"),
            self._payment("ST-2", "40.00", self.block, "T-BEN-CLOSED"),
        )
        first = self._generate()
        self.assertEqual(first.state, "done")
        self.assertEqual(first.number, 1)
        # OPENING deposit, two debits, one reversal.
        self.assertEqual(first.entry_count, 4)
        self.assertEqual(len(first.ledger_entry_ids), 4)
        self.assertEqual(Decimal(str(first.opening_balance)), 0)
        self.assertEqual(Decimal(str(first.closing_balance)), Decimal("900.00"))
        self.assertGreaterEqual(first.sequence_count, 1)
        for text in ("ST-1", "ST-2", ":20:" + first.name, ":25:T-PROG-1"):
            self.assertIn(text, first.mt940_text)
        # The reversal carries its reason last (the MT940 character set has no "_").
        self.assertRegex(first.mt940_text, r"ACCOUNT[._]CLOSED\r\n:62F:")
        self.assertEqual(first.attachment_id.name, "T-PROG-1-1.mt940")
        self.assertEqual(first.attachment_id.raw.decode(), first.mt940_text)
        self.assertEqual(first.attachment_id.res_id, first.id)
        # Stored as a file, not indexed as text (that would cost memory and time).
        self.assertEqual(first.attachment_id.mimetype, "application/x-mt940")
        self.assertNotIn(":20:", first.attachment_id.index_content or "")
        # The second statement has only what happened since, opening at the closing.
        self._pay(self._payment("ST-3", "25.00", self.block, "T-BEN-1"))
        second = self._generate()
        self.assertEqual(second.number, 2)
        self.assertEqual(second.entry_count, 1)
        self.assertEqual(Decimal(str(second.opening_balance)), Decimal("900.00"))
        self.assertEqual(Decimal(str(second.closing_balance)), Decimal("875.00"))
        self.assertIn("ST-3", second.mt940_text)
        self.assertNotIn("ST-1", second.mt940_text)
        self.assertEqual(
            Decimal(str(second.closing_balance)), self._amounts(self.program)[0]
        )
        # Nothing new: a valid empty statement.
        empty = self._generate()
        self.assertEqual((empty.state, empty.number, empty.entry_count), ("done", 3, 0))
        self.assertEqual(empty.opening_balance, empty.closing_balance)
        self.assertTrue(empty.mt940_text)
        # A job that runs twice does nothing the second time.
        empty._job_generate()
        self.assertEqual(empty.number, 3)
        self.assertInvariants()

    def test_long_statement_is_split_into_messages(self):
        self._pay(
            *(
                self._payment(f"LONG-{i}", "1.00", self.block, f"T-BEN-{i}")
                for i in range(40)
            )
        )
        statement = self._generate()
        self.assertEqual(statement.entry_count, 41)
        self.assertGreater(statement.sequence_count, 1)
        self.assertEqual(statement.mt940_text.count(":28C:"), statement.sequence_count)
        self.assertEqual(Decimal(str(statement.closing_balance)), Decimal("960.00"))

    def test_processing_enqueues_the_statement(self):
        with trap_jobs() as trap:
            batch = self.bank.initiate_payment(
                [self._payment("AU-1", "10.00", self.block, "T-BEN-1")]
            )
            trap.perform_enqueued_jobs()  # the batch job
            self.assertEqual(batch.state, "done")
            trap.perform_enqueued_jobs()  # the statement job it enqueued
        statement = self.env["g2p.sim.statement"].search(
            [("account_id", "=", self.program.id)]
        )
        self.assertEqual(statement.state, "done")
        self.assertIn("AU-1", statement.mt940_text)

    def test_statement_errors(self):
        self.assertBankError("ACCOUNT_NOT_FOUND", self.bank.generate_statement, "NOPE")
        self.assertBankError("STATEMENT_NOT_FOUND", self.bank.get_statement, "NOPE")
        statement = self._generate()
        self.assertEqual(self.bank.get_statement(statement.name), statement)

    def test_entry_needing_seven_lines_does_not_stop_the_statements(self):
        """A long reference with narratives 5 and 6, paid and reversed: the
        statement folds the narrative instead of failing for ever."""
        reference = "G2P-PAY-2026-11-000000123"
        self._pay(
            self._payment(
                reference,
                "10.00",
                self.block,
                "T-BEN-CLOSED",
                narrative_5="N5",
                narrative_6="N6",
            )
        )
        statement = self._generate()
        self.assertEqual(statement.state, "done", statement.error)
        self.assertEqual(statement.entry_count, 3)
        lines = statement.mt940_text.split("\r\n")
        narratives = [i for i, line in enumerate(lines) if line.startswith(":86:")]
        debit, reversal = (lines[i : i + 6] for i in narratives[1:])
        self.assertEqual(debit[3:], ["BEN-T-BEN-CLOSED", "N5 N6", reference])
        self.assertEqual(
            reversal[3:], ["BEN-T-BEN-CLOSED", reference, "ACCOUNT.CLOSED"]
        )

    def test_dates_are_the_banks_whoever_calls(self):
        """UTC, not the caller's time zone (-11 and +14: one of them is another day
        than UTC at any hour)."""
        today = fields.Date.today()
        for tz in ("Pacific/Pago_Pago", "Pacific/Kiritimati"):
            entry = self.program.with_context(tz=tz).deposit(1, tz[8:12])
            self.assertEqual((entry.value_date, entry.entry_date), (today, today), tz)
        self._pay(self._payment("TZ-1", "1.00", self.block, "T-BEN-1"))
        entries = self.env["g2p.sim.ledger.entry"].search(
            [("customer_reference", "=", "TZ-1")]
        )
        self.assertEqual(set(entries.mapped("value_date")), {today})
        first = self._generate()
        self.assertEqual(first.date_to, today)
        # The next statement opens on the previous one's closing date, not on the
        # value date of its first entry; it closes on the bank's date too.
        first.date_to = today - timedelta(days=3)
        self.program.deposit(1)
        with trap_jobs() as trap:
            second = self.bank.with_context(tz="Pacific/Kiritimati").generate_statement(
                "T-PROG-1"
            )
            trap.perform_enqueued_jobs()
        self.assertEqual(second.date_to, today)
        opening = (today - timedelta(days=3)).strftime("%y%m%d")
        closing = today.strftime("%y%m%d")
        self.assertIn(f":60F:C{opening}EUR", second.mt940_text)
        self.assertIn(f":62F:C{closing}EUR", second.mt940_text)
        # Closed in a time zone ahead of UTC before the fix: never closes before.
        second.date_to = today + timedelta(days=1)
        third = self._generate()
        self.assertEqual(third.date_to, today + timedelta(days=1))

    def test_statement_number_wraps_after_99999(self):
        """:28C: has 5 digits: the statement after 99999 is 1, not a failure."""
        first = self._generate()
        self.env.cr.execute(
            SQL("UPDATE g2p_sim_statement SET number = 99999 WHERE id = %s", first.id)
        )
        first.invalidate_recordset()
        wrapped = self._generate()
        self.assertEqual(wrapped.state, "done", wrapped.error)
        self.assertEqual(wrapped.number, 100000)
        self.assertIn(":28C:1/1\r\n", wrapped.mt940_text)
        self.assertEqual(self._generate().number, 100001)


class _Receiver(BaseHTTPRequestHandler):
    answers = []
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers["Content-Type"], body))
        code = self.answers.pop(0) if self.answers else 200
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"ok" if code == 200 else b"no")

    def log_message(self, *args):
        pass


class TestStatementPush(SimBankCase):
    """A real HTTP server on 127.0.0.1 receives the statements."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = HTTPServer(("127.0.0.1", 0), _Receiver)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.addClassCleanup(cls.server.server_close)
        cls.addClassCleanup(cls.server.shutdown)
        cls.url = f"http://127.0.0.1:{cls.server.server_port}/upload_mt940"

    def setUp(self):
        super().setUp()
        _Receiver.answers = []
        _Receiver.received = []
        self.env["ir.config_parameter"].set_param(
            PARAM + "statement_upload_url", self.url
        )

    def _generate_and_trap_push(self):
        with trap_jobs() as trap:
            statement = self.bank.generate_statement("T-PROG-1")
            statement._job_generate()
            trap.assert_enqueued_job(
                statement._job_push,
                properties={"identity_key": f"g2p_sim_statement_push_{statement.id}"},
            )
        self.assertEqual(statement.push_state, "pending")
        return statement

    def test_push_posts_the_file(self):
        statement = self._generate_and_trap_push()
        statement._job_push()
        self.assertEqual(statement.push_state, "done")
        self.assertTrue(statement.push_date)
        self.assertEqual(len(_Receiver.received), 1)
        content_type, body = _Receiver.received[0]
        self.assertTrue(content_type.startswith("multipart/form-data"))
        self.assertIn(b'name="statement_file"', body)
        self.assertIn(f'filename="{statement.name}.mt940"'.encode(), body)
        self.assertIn(statement.mt940_text.encode(), body)
        # Pushed once: running the job again posts nothing.
        statement._job_push()
        self.assertEqual(len(_Receiver.received), 1)

    def test_push_retries_on_server_error(self):
        statement = self._generate_and_trap_push()
        _Receiver.answers = [500]
        with self.assertRaises(RetryableJobError):
            statement._job_push()
        self.assertEqual(statement.push_state, "pending")
        statement._job_push()
        self.assertEqual(statement.push_state, "done")
        self.assertEqual(len(_Receiver.received), 2)

    def test_push_refused(self):
        statement = self._generate_and_trap_push()
        _Receiver.answers = [400]
        statement._job_push()
        self.assertEqual(statement.push_state, "failed")
        self.assertIn("400", statement.push_error)

    def test_upload_url_removed_before_the_push(self):
        statement = self._generate_and_trap_push()
        self.env["ir.config_parameter"].set_param(PARAM + "statement_upload_url", "")
        self.assertIn("No upload URL", statement._job_push())
        self.assertEqual(statement.push_state, "none")
        self.assertFalse(_Receiver.received)

    def test_unreachable_server_is_retried(self):
        statement = self._generate_and_trap_push()
        self.env["ir.config_parameter"].set_param(
            PARAM + "statement_upload_url", "http://127.0.0.1:9/upload_mt940"
        )
        with self.assertRaises(RetryableJobError):
            statement._job_push()

    def test_push_failed_when_its_retries_run_out(self):
        """The statement says "failed", not "Pending" for ever."""
        statement = self._generate_and_trap_push()
        _Receiver.answers = [503, 503]
        job = statement.with_delay(max_retries=2)._job_push()
        with self.assertRaises(RetryableJobError):
            job.perform()
        self.assertEqual(statement.push_state, "pending")
        job.retry = 1
        job.store()
        self.assertIn("503", job.perform())
        self.assertEqual(statement.push_state, "failed")
        self.assertIn("503", statement.push_error)
        self.assertEqual(len(_Receiver.received), 2)
