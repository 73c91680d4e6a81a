import base64
from datetime import date
from decimal import Decimal

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.g2p_bank_simulator.mt940 import (
    StatementEntry,
    StatementHeader,
    write_statement,
)

from .common import PaymentBatchCase

DAY = date(2026, 11, 20)


def entry(mark, amount, reference, bank_reference, reason=None):
    narrative = ["Cash", "TPROG", "C1", "BEN"]
    if reason:
        narrative.append(reason)
    return StatementEntry(
        value_date=DAY,
        entry_date=DAY,
        mark=mark,
        amount=Decimal(amount),
        customer_reference=reference,
        bank_reference=bank_reference,
        narrative=narrative,
    )


def statement_text(entries, reference="TSTM1", account="T-FUND-1", currency="KES"):
    header = StatementHeader(
        reference=reference,
        account=account,
        number=1,
        currency=currency,
        decimals=2,
        opening_balance=Decimal("1000000.00"),
        opening_date=DAY,
        closing_date=DAY,
        available_balance=Decimal("1000000.00"),
        available_date=DAY,
    )
    return write_statement(header, entries)[0]


@tagged("post_install", "-at_install")
class TestReconciliation(PaymentBatchCase):
    """Statements fetched, pushed or uploaded: matched once, errors recorded."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.batch = cls.new_batch(cls.registrants("T-REC", 4), amount="50.00")
        cls.batch.action_confirm()
        runner = cls.env["g2p.payment.batch.runner"]
        runner._job_check_funds(cls.batch)
        runner._job_block_funds(cls.batch)
        # Sent to a bank that answers nothing by itself: statements come by hand.
        cls.batch._set_payment_state("sent", cls.batch.payment_ids.ids, "HANDBANK1")
        cls.batch.with_context(g2p_transition=True).state = "sent"
        cls.refs = cls.batch.payment_ids.sorted("id").mapped("name")
        cls.Statement = cls.env["g2p.payment.statement"]
        cls.Batch = cls.env["g2p.payment.batch"]

    def test_statement_with_errors(self):
        a, b, c, d = self.refs
        text = statement_text(
            [
                entry("C", "5000.00", "DEPOSIT", "SIM9000000000001"),
                entry("D", "50.00", a, "SIM9000000000002"),
                entry("D", "49.99", b, "SIM9000000000003"),
                entry("D", "50.00", "PAY9999999999999", "SIM9000000000004"),
                entry("RD", "50.00", "PAY9999999999998", "SIM9000000000005", "X"),
                entry("D", "50.00", a, "SIM9000000000006"),
                entry("D", "50.00", c, "SIM9000000000007"),
                entry("RD", "50.00", c, "SIM9000000000008", "ACCOUNT.CLOSED"),
            ]
        )
        statement = self.Statement._import_text(text, "upload")
        statement.action_reconcile()
        self.assertEqual(statement.state, "reconciled")
        payments = {p.name: p for p in self.batch.payment_ids}
        self.assertEqual(payments[a].state, "paid")
        self.assertEqual(payments[a].bank_reference, "SIM9000000000002")
        self.assertEqual(payments[a].value_date, DAY)
        self.assertEqual(payments[b].state, "sent", "a wrong amount pays nothing")
        self.assertEqual(payments[c].state, "failed")
        self.assertEqual(payments[c].failure_reason, "ACCOUNT_CLOSED")
        self.assertEqual(payments[d].state, "sent")
        errors = statement.error_ids.sorted("entry_sequence")
        self.assertEqual(
            [(e.customer_reference, e.reason) for e in errors],
            [
                (b, "amount_mismatch"),
                ("PAY9999999999999", "unknown_reference"),
                ("PAY9999999999998", "reversal_without_payment"),
                (a, "duplicate"),
            ],
        )
        self.assertEqual(errors[0].expected_amount, 50.0)
        self.assertEqual(errors[0].amount, 49.99)
        self.assertEqual(errors[0].batch_id, self.batch)
        self.assertEqual(self.batch.error_count, 2)  # those with a payment of ours
        self.assertEqual(self.batch.state, "partially_reconciled")
        self.assertEqual((self.batch.paid_count, self.batch.failed_count), (1, 1))

        # The same statement again: same record, nothing changes.
        self.assertEqual(self.Statement._import_text(text, "push"), statement)
        with self.assertRaises(UserError):
            self.Statement.create({"mt940_text": text.replace("\r\n", "\n")})
        self.env["g2p.payment.reconciler"]._reconcile(statement)
        self.assertEqual(len(statement.error_ids), 4)
        self.assertEqual(self.batch.paid_count, 1)

    def test_second_statement_completes_the_batch(self):
        a, b, c, d = self.refs
        first = self.Statement._import_text(
            statement_text(
                [entry("D", "50.00", a, "SIM8000000000001")], reference="TSTM-A"
            ),
            "upload",
        )
        first.action_reconcile()
        self.assertEqual(self.batch.state, "partially_reconciled")
        second = self.Statement._import_text(
            statement_text(
                [
                    entry("D", "50.00", b, "SIM8000000000002"),
                    entry("D", "50.00", c, "SIM8000000000003"),
                    entry("D", "50.00", d, "SIM8000000000004"),
                    entry("RD", "50.00", d, "SIM8000000000005", "ACCOUNT.DORMANT"),
                ],
                reference="TSTM-B",
            ),
            "upload",
        )
        second.action_reconcile()
        self.assertEqual(self.batch.state, "reconciled")
        self.assertEqual((self.batch.paid_count, self.batch.failed_count), (3, 1))
        self.assertEqual(self.batch.statement_ids, first | second)
        self.assertFalse(second.error_ids)

    def test_unreadable_statement(self):
        statement = self.Statement._import_text("not an MT940", "upload")
        statement.action_reconcile()
        self.assertEqual(statement.state, "failed")
        self.assertTrue(statement.error)

    def upload(self, text):
        """The statement as an officer uploads it (Statements → New)."""
        return (
            self.Statement.with_user(self.officer)
            .create({"mt940_file": base64.b64encode(text.encode())})
            .sudo()
        )

    def test_only_statements_of_the_funding_account_count(self):
        """A statement of another account or currency, or about payments never
        sent, pays nothing: each entry is an error saying why, and the payments
        and batches stay as they were (they became paid: a cancelled batch showed
        "1 paid", a confirmed batch then sent nothing)."""
        a, b, _c, _d = self.refs
        confirmed = self.new_batch(self.registrants("T-REC-CF", 1), amount="11.00")
        confirmed.action_confirm()
        cancelled = self.new_batch(self.registrants("T-REC-CX", 1), amount="11.00")
        cancelled.action_cancel()
        issued, void = confirmed.payment_ids, cancelled.payment_ids
        self.upload(
            statement_text([entry("D", "50.00", b, "SIM6000000000001")], "TSTM-OK")
        ).action_reconcile()
        self.assertEqual(self.batch.paid_count, 1)
        foreign = self.upload(
            statement_text(
                [
                    entry("D", "50.00", a, "SIM6000000000002"),
                    entry("RD", "50.00", b, "SIM6000000000003", "ACCOUNT.CLOSED"),
                ],
                "TSTM-OTHER",
                account="SOMEONE-ELSES-ACCT",
            )
        )
        in_usd = self.upload(
            statement_text(
                [entry("D", "50.00", a, "SIM6000000000004")], "TSTM-USD", currency="USD"
            )
        )
        unsent = self.upload(
            statement_text(
                [
                    entry("D", "11.00", issued.name, "SIM6000000000005"),
                    entry("D", "11.00", void.name, "SIM6000000000006"),
                ],
                "TSTM-UNSENT",
            )
        )
        (foreign | in_usd | unsent).action_reconcile()
        self.assertEqual(
            [(e.customer_reference, e.reason) for e in foreign.error_ids],
            [(a, "other_account"), (b, "other_account")],
        )
        self.assertIn("SOMEONE-ELSES-ACCT", foreign.error_ids[0].detail)
        self.assertEqual(in_usd.error_ids.reason, "other_currency")
        self.assertEqual(
            [(e.payment_id, e.reason) for e in unsent.error_ids],
            [(issued, "not_sent"), (void, "not_sent")],
        )
        self.assertEqual(
            (foreign | in_usd | unsent).mapped("paid_count"), [0, 0, 0], "nothing paid"
        )
        payments = {p.name: p.state for p in self.batch.payment_ids}
        self.assertEqual((payments[a], payments[b]), ("sent", "paid"))
        self.assertEqual((issued.state, void.state), ("issued", "cancelled"))
        self.assertEqual((confirmed.paid_count, cancelled.paid_count), (0, 0))
        self.assertEqual(confirmed.issued_count, 1, "still to be sent")

    def test_funding_account_as_the_swift_charset_writes_it(self):
        """A funding account with a character outside the SWIFT set (``_``) is
        written by the bank with ``.``: its statements are still its own."""
        batch = self.new_batch(
            self.registrants("T-REC-SW", 1),
            amount="5.00",
            funding_account_number="T_FUND_2",
        )
        batch.action_confirm()
        batch._set_payment_state("sent", batch.payment_ids.ids, "HANDBANK2")
        statement = self.upload(
            statement_text(
                [entry("D", "5.00", batch.payment_ids.name, "SIM6000000000007")],
                "TSTM-SW",
                account="T.FUND.2",
            )
        )
        statement.action_reconcile()
        self.assertFalse(statement.error_ids)
        self.assertEqual(batch.payment_ids.state, "paid")

    def test_reversal_reasons(self):
        """The bank writes ``ACCOUNT.CLOSED`` (no ``_`` in the SWIFT set): the
        contract's reasons are stored as the contract spells them, any other reason
        as the bank wrote it, and the payment fails either way."""
        a, b, c, _d = self.refs
        self.upload(
            statement_text(
                [
                    entry("D", "50.00", a, "SIM5000000000001"),
                    entry("RD", "50.00", a, "SIM5000000000002", "ACCOUNT.NOT.FOUND"),
                    entry("D", "50.00", b, "SIM5000000000003"),
                    entry("RD", "50.00", b, "SIM5000000000004", "Beneficiary bank: no"),
                    entry("D", "50.00", c, "SIM5000000000005"),
                    entry("RD", "50.00", c, "SIM5000000000006", "account dormant"),
                ],
                "TSTM-RSN",
            )
        ).action_reconcile()
        payments = {p.name: p for p in self.batch.payment_ids}
        self.assertEqual(
            [(payments[r].state, payments[r].failure_reason) for r in (a, b, c)],
            [
                ("failed", "ACCOUNT_NOT_FOUND"),
                ("failed", "Beneficiary bank: no"),
                ("failed", "ACCOUNT_DORMANT"),
            ],
        )

    def test_text_and_outcome_are_the_process_s(self):
        """An officer cannot rewrite a statement's text, hash or outcome (over RPC,
        a statement could be set back to received and reconciled with another
        text); the import and the reconciliation, run for them, still can."""
        a, b, _c, _d = self.refs
        paying_a = statement_text([entry("D", "50.00", a, "SIM4000000000001")], "TA")
        paying_b = statement_text([entry("D", "50.00", b, "SIM4000000000002")], "TB")
        statement = self.upload(paying_a).with_user(self.officer)
        statement.action_reconcile()  # as the officer: the process writes
        self.assertEqual((statement.state, statement.paid_count), ("reconciled", 1))
        for vals in (
            {"state": "received"},
            {"mt940_text": paying_b},
            {"text_hash": "0" * 64},
            {"paid_count": 7, "error": "x"},
            {"mt940_file": base64.b64encode(paying_b.encode())},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                statement.write(vals)
        with self.assertRaises(UserError):
            self.Statement.with_user(self.officer).create(
                {"mt940_text": paying_b, "state": "reconciled"}
            )
        statement.invalidate_recordset()
        self.assertEqual(statement.state, "reconciled")
        self.assertEqual(statement.mt940_text, paying_a)
        statement.action_reconcile()
        payments = {p.name: p.state for p in self.batch.payment_ids}
        self.assertEqual((payments[a], payments[b]), ("paid", "sent"))
        statement.mt940_filename = "TA.mt940"  # what is not the process's

    def test_statement_that_does_not_add_up_is_refused(self):
        """A statement whose balances do not add up is refused at import, whoever
        brings it, and changes nothing. A hand-uploaded reversal of a paid payment
        (opening + RD ≠ closing) made it failed, and Re-issue paid it again."""
        a, _b, _c, _d = self.refs
        self.upload(
            statement_text([entry("D", "50.00", a, "SIM3000000000001")], "TPAID")
        ).action_reconcile()
        paid = self.batch.payment_ids.filtered(lambda p: p.name == a)
        self.assertEqual(paid.state, "paid")
        forged = (
            ":20:TFORGE1\r\n:25:T-FUND-1\r\n:28C:99/1\r\n"
            ":60F:C261208KES998952,50\r\n"
            f":61:2612081208RD50,00NTRF{a}//TFORGE1\r\n:86:x\r\nACCOUNT.CLOSED\r\n"
            ":62F:C261208KES998952,50\r\n-\r\n"
        )
        before = self.Statement.search_count([])
        with self.assertRaisesRegex(UserError, "does not add up.*998,952.50 KES"):
            self.upload(forged)
        with self.assertRaisesRegex(UserError, "does not add up"):
            self.Statement._import_text(forged, "connector", self.connector, "F1")
        self.assertEqual(self.Statement.search_count([]), before)
        self.assertEqual(paid.state, "paid")
        with self.assertRaisesRegex(UserError, "no failed payment"):
            self.batch.action_reissue_failed()
        # The same reversal in a statement that adds up is the bank's: it counts.
        self.upload(
            forged.replace("C261208KES998952,50\r\n-", "C261208KES999002,50\r\n-")
        ).action_reconcile()
        self.assertEqual(paid.state, "failed")

    def test_split_statement_balances(self):
        """A statement split into messages adds up message by message: the bank's
        own is imported; an intermediate balance changed is refused."""
        a, b, c, _d = self.refs
        header = StatementHeader(
            reference="TSPLIT",
            account="T-FUND-1",
            number=3,
            currency="KES",
            decimals=2,
            opening_balance=Decimal("1000.00"),
            opening_date=DAY,
            closing_date=DAY,
            available_balance=Decimal("850.00"),
            available_date=DAY,
        )
        entries = [
            entry("D", "50.00", ref, f"SIM200000000000{i}")
            for i, ref in enumerate((a, b, c))
        ]
        text, writer = write_statement(header, entries, max_message_chars=230)
        self.assertEqual(writer.message_count, 3)
        for bad in (
            text.replace(":60M:C261120KES950,00", ":60M:C261120KES960,00", 1),
            text.replace(":62M:C261120KES950,00", ":62M:C261120KES960,00", 1),
        ):
            self.assertNotEqual(bad, text)
            with self.subTest(bad=bad), self.assertRaises(UserError):
                self.upload(bad)
        self.upload(text).action_reconcile()
        self.assertEqual(self.batch.paid_count, 3)

    def test_one_account_per_file(self):
        """A file whose first message is of another account was stored under that
        account only: the batch never found its own entries. Such a file is
        refused; each account's statement is imported on its own."""
        a, _b, _c, _d = self.refs
        other = statement_text(
            [entry("C", "10.00", "DEPOSIT", "SIM1100000000001")], "TOTHER", "T-OTHER"
        )
        ours = statement_text([entry("D", "50.00", a, "SIM1100000000002")], "TOURS")
        before = self.Statement.search_count([])
        with self.assertRaisesRegex(UserError, "several accounts.*T-OTHER, T-FUND-1"):
            self.upload(other + ours)
        self.assertEqual(self.Statement.search_count([]), before)
        self.upload(other)
        statement = self.upload(ours)
        self.assertEqual(statement.account_number, "T-FUND-1")
        self.env["g2p.payment.batch.runner"]._job_reconcile(self.batch)
        self.assertEqual(self.batch.paid_count, 1)

    def test_payments_failing_later_are_reissued_later(self):
        """Re-issue takes the failed payments not re-issued yet: a payment that
        fails after a first re-issue (a reversal of a paid payment) is re-issued by
        a second one; no failed payment is re-issued twice. It was once per batch:
        the later failure could never be re-issued."""
        a, b, c, _d = self.refs
        self.upload(
            statement_text(
                [
                    entry("D", "50.00", a, "SIM1200000000001"),
                    entry("D", "50.00", b, "SIM1200000000002"),
                    entry("RD", "50.00", b, "SIM1200000000003", "ACCOUNT.CLOSED"),
                ],
                "TRI-1",
            )
        ).action_reconcile()
        payments = {p.name: p for p in self.batch.payment_ids}
        first = self.Batch.browse(self.batch.action_reissue_failed()["res_id"])
        self.assertEqual(first.payment_ids.reissue_of_id, payments[b])
        with self.assertRaisesRegex(UserError, f"already re-issued in {first.name}"):
            self.batch.action_reissue_failed()
        # The beneficiary's bank returns a's money later.
        self.upload(
            statement_text(
                [entry("RD", "50.00", a, "SIM1200000000004", "ACCOUNT.CLOSED")],
                "TRI-2",
            )
        ).action_reconcile()
        self.assertEqual(payments[a].state, "failed")
        second = self.Batch.browse(self.batch.action_reissue_failed()["res_id"])
        self.assertEqual(second.payment_ids.reissue_of_id, payments[a])
        self.assertEqual(second.payment_ids.registrant_id, payments[a].registrant_id)
        self.assertIn("1 payment.", self.batch.message_ids[0].body)
        with self.assertRaisesRegex(UserError, "already re-issued"):
            self.batch.action_reissue_failed()
        # A cancelled re-issue gives its payments back.
        second.action_cancel()
        third = self.Batch.browse(self.batch.action_reissue_failed()["res_id"])
        self.assertEqual(third.payment_ids.reissue_of_id, payments[a])
        self.assertEqual(c and payments[c].state, "sent")
