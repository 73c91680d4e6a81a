from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import HttpCase, tagged

from odoo.addons.g2p_payment_batch.models.g2p_payment_statement import (
    StatementImportedMeanwhile,
    statement_hash,
)

from .common import PaymentBatchCase
from .test_reconciliation import entry, statement_text


@tagged("post_install", "-at_install")
class TestStatementUpload(PaymentBatchCase, HttpCase):
    """Where a bank pushes its statements, over Odoo's HTTP server: what it answers
    to each kind of push, and what it records."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connector = cls.env["g2p.bank.connector"].create(
            {"name": "Pushing bank", "connector_type": "simulator"}
        )
        cls.path = f"/g2p_payment_batch/statement/{cls.connector.upload_token}"
        cls.Statement = cls.env["g2p.payment.statement"]

    def _push(self, content, path=None, field="statement_file"):
        if isinstance(content, str):
            content = content.encode()
        files = {field: ("STM.mt940", content, "text/plain")}
        return self.url_open(path or self.path, files=files)

    def _statements(self, text):
        return self.Statement.search([("text_hash", "=", statement_hash(text))])

    def test_pushed_once_however_often_it_is_pushed(self):
        text = statement_text([entry("C", "10.00", "DEPOSIT", "SIM7000000000001")])
        for _push in range(3):
            response = self._push(text)
            self.assertEqual((response.status_code, response.text), (200, "ok"))
        statement = self._statements(text)
        self.assertEqual(len(statement), 1)
        self.assertEqual(
            (statement.source, statement.connector_id), ("push", self.connector)
        )

    def test_refused_pushes_record_nothing(self):
        before = self.Statement.search_count([])
        good = statement_text([entry("C", "10.00", "DEPOSIT", "SIM7000000000002")])
        latin = "é:20:STM".encode("latin-1")
        unknown = (404, "unknown connector")
        base = "/g2p_payment_batch/statement/"
        for path, field, content, answer in (
            (base + "not-a-token", "statement_file", good, unknown),
            (base + "x' OR '1'='1", "statement_file", good, unknown),
            (self.path, "file", good, (400, "no statement_file")),
            (self.path, "statement_file", latin, (400, "not an MT940 text file")),
        ):
            with self.subTest(path=path, field=field):
                response = self._push(content, path, field)
                self.assertEqual((response.status_code, response.text), answer)
        self.assertEqual(self.Statement.search_count([]), before)

    def test_unreadable_text_is_kept_as_a_failed_statement(self):
        """Plain text that is no MT940: received (nothing pushed is lost), then
        failed with the reason, matching no payment."""
        response = self._push(b"this is not a statement")
        self.assertEqual(response.status_code, 200)
        statement = self._statements("this is not a statement")
        self.assertEqual(statement.state, "received")
        statement._job_reconcile()
        self.assertEqual(statement.state, "failed")
        self.assertTrue(statement.error)
        self.assertFalse(statement.batch_ids)

    def _imported_by_another_transaction(self, text):
        """Import ``text`` in a transaction of its own, committed after this test's
        transaction took its snapshot (deleted again after the test)."""
        self.Statement.search_count([])  # the snapshot is taken
        other = db_connect(self.env.cr.dbname)
        with other.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            env["g2p.payment.statement"]._import_text(text, "connector")
            cr.commit()  # pylint: disable=invalid-commit

        def forget():
            with other.cursor() as cr:
                cr.execute(
                    "DELETE FROM g2p_payment_statement WHERE text_hash = %s",
                    [statement_hash(text)],
                )
                cr.commit()  # pylint: disable=invalid-commit

        self.addCleanup(forget)

    def test_pushed_while_a_batch_fetched_it(self):
        """The bank pushes a statement that a batch has just fetched (imported by a
        transaction that committed after this request's began): answered "ok",
        recorded once. It answered an error (500 here; served, Odoo turns the
        unique violation into a 422, which the bank records as a refused push)."""
        text = statement_text([entry("C", "10.00", "DEPOSIT", "SIM7000000000003")])
        self._imported_by_another_transaction(text)
        response = self._push(text)
        self.assertEqual((response.status_code, response.text), (200, "ok"))
        self.assertFalse(self._statements(text), "this snapshot cannot see it")

    def test_fetched_while_it_was_pushed(self):
        """A batch fetches a statement that the bank has just pushed: the step's job
        is retried (it then finds the statement), instead of failing for good with
        the unique constraint, and its transaction is still usable."""
        text = statement_text([entry("C", "10.00", "DEPOSIT", "SIM7000000000004")])
        self._imported_by_another_transaction(text)
        with self.assertRaises(StatementImportedMeanwhile) as caught:
            self.Statement._import_text(text, "connector", self.connector, "STM9")
        self.assertEqual(caught.exception.seconds, 1)
        self.assertFalse(self._statements(text))

    def test_push_that_does_not_add_up_is_refused(self):
        """A pushed statement whose balances do not add up is answered 400 with
        the reason and recorded nowhere."""
        text = statement_text([entry("C", "10.00", "DEPOSIT", "SIM7000000000005")])
        bad = text.replace(":62F:C201120KES1000010,00", ":62F:C201120KES1000000,00")
        bad = bad.replace(":62F:C261120KES1000010,00", ":62F:C261120KES1000000,00")
        self.assertNotEqual(bad, text)
        response = self._push(bad)
        self.assertEqual(response.status_code, 400)
        self.assertIn("does not add up", response.text)
        self.assertFalse(self._statements(bad))
