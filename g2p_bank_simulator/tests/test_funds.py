from datetime import timedelta
from decimal import Decimal

from odoo import fields
from odoo.tools import SQL

from .common import SimBankCase


class TestFunds(SimBankCase):
    def test_check_funds(self):
        self.assertTrue(self.bank.check_funds("T-PROG-1", "EUR", Decimal("1000.00")))
        self.assertTrue(self.bank.check_funds("T-PROG-1", "EUR", "999.99"))
        self.assertFalse(self.bank.check_funds("T-PROG-1", "EUR", "1000.01"))
        self.bank.block_funds("T-PROG-1", "EUR", 600)
        self.assertFalse(self.bank.check_funds("T-PROG-1", "EUR", 500))
        self.assertTrue(self.bank.check_funds("T-PROG-1", "EUR", 400))

    def test_check_funds_errors(self):
        self.assertBankError(
            "ACCOUNT_NOT_FOUND", self.bank.check_funds, "NOPE", "EUR", 1
        )
        self.assertBankError(
            "CURRENCY_MISMATCH", self.bank.check_funds, "T-PROG-1", "USD", 1
        )
        self._open("T-DORMANT", "10", state="dormant")
        self.assertBankError(
            "ACCOUNT_NOT_ACTIVE", self.bank.check_funds, "T-DORMANT", "EUR", 1
        )
        for bad in (0, -1, "abc", "1.001", "NaN", "Infinity", "1E+30", None, True, [1]):
            with self.subTest(amount=bad):
                self.assertBankError(
                    "INVALID_AMOUNT", self.bank.check_funds, "T-PROG-1", "EUR", bad
                )

    def test_amount_precision_follows_currency(self):
        jpy = self.env.ref("base.JPY")
        jpy.active = True
        self._open("T-JPY", "1000", currency=jpy)
        self.assertTrue(self.bank.check_funds("T-JPY", "JPY", "1000"))
        self.assertBankError(
            "INVALID_AMOUNT", self.bank.check_funds, "T-JPY", "JPY", "1.5"
        )

    def test_block_funds(self):
        block = self.bank.block_funds("T-PROG-1", "EUR", Decimal("250.50"))
        self.assertEqual(block.state, "active")
        self.assertLessEqual(len(block.reference), 16)
        self.assertEqual(
            self._amounts(self.program),
            (Decimal("1000.00"), Decimal("250.50"), Decimal("749.50")),
        )
        self.assertEqual(self._block_amounts(block)[2], Decimal("250.50"))
        self.assertInvariants()

    def test_block_insufficient_funds(self):
        self.bank.block_funds("T-PROG-1", "EUR", 999)
        self.assertBankError(
            "INSUFFICIENT_FUNDS", self.bank.block_funds, "T-PROG-1", "EUR", "1.01"
        )
        self.bank.block_funds("T-PROG-1", "EUR", 1)
        self.assertEqual(self._amounts(self.program)[2], 0)
        self.assertInvariants()

    def test_block_errors(self):
        self.assertBankError("ACCOUNT_NOT_FOUND", self.bank.block_funds, "X", "EUR", 1)
        self.assertBankError(
            "CURRENCY_MISMATCH", self.bank.block_funds, "T-PROG-1", "KES", 1
        )
        self.assertBankError(
            "INVALID_AMOUNT", self.bank.block_funds, "T-PROG-1", "EUR", "0.00"
        )
        self.assertBankError(
            "INVALID_REQUEST",
            self.bank.block_funds,
            "T-PROG-1",
            "EUR",
            1,
            expiry_date=fields.Date.today() - timedelta(days=1),
        )
        self.assertBankError(
            "INVALID_REQUEST", self.bank.block_funds, "T-PROG-1", "EUR", 1, "R" * 17
        )

    def test_block_reference_replay(self):
        first = self.bank.block_funds(
            "T-PROG-1", "EUR", "100.00", reference="PRG-BLK-1"
        )
        again = self.bank.block_funds("T-PROG-1", "EUR", "100", reference="PRG-BLK-1")
        self.assertEqual(again, first)
        self.assertEqual(self._amounts(self.program)[1], Decimal("100.00"))
        self.assertBankError(
            "DUPLICATE_REFERENCE",
            self.bank.block_funds,
            "T-PROG-1",
            "EUR",
            "101.00",
            reference="PRG-BLK-1",
        )
        self._open("T-PROG-2", "500")
        self.assertBankError(
            "DUPLICATE_REFERENCE",
            self.bank.block_funds,
            "T-PROG-2",
            "EUR",
            "100.00",
            reference="PRG-BLK-1",
        )
        self.assertInvariants()

    def test_release_block(self):
        block = self.bank.block_funds("T-PROG-1", "EUR", 300)
        released = self.bank.release_block(block.reference)
        self.assertEqual(released, block)
        self.assertEqual(block.state, "released")
        self.assertEqual(
            self._amounts(self.program), (Decimal(1000), Decimal(0), Decimal(1000))
        )
        self.assertBankError(
            "BLOCK_NOT_ACTIVE", self.bank.release_block, block.reference
        )
        self.assertBankError("BLOCK_NOT_FOUND", self.bank.release_block, "NOPE")
        self.assertBankError("INVALID_REQUEST", self.bank.release_block, "")
        self.assertInvariants()

    def test_release_keeps_what_batches_reserved(self):
        block = self.bank.block_funds("T-PROG-1", "EUR", 300)
        batch = self.bank.initiate_payment([self._payment("R-1", "120.00", block)])
        self.bank.release_block(block.reference)
        # 180 free came back; 120 stays blocked for the batch, which still runs.
        self.assertEqual(
            self._amounts(self.program), (Decimal(1000), Decimal(120), Decimal(880))
        )
        self.bank.process_batch(batch)
        self.assertEqual(batch.state, "done")
        self.assertEqual(
            self._amounts(self.program), (Decimal(880), Decimal(0), Decimal(880))
        )
        self.assertEqual(self._block_amounts(block), (Decimal(120), 0, 0, "released"))
        self.assertInvariants()

    def test_expired_blocks(self):
        block = self.bank.block_funds(
            "T-PROG-1", "EUR", 100, expiry_date=fields.Date.today()
        )
        # Time passes: the block's expiry date is now yesterday.
        self.env.cr.execute(
            SQL(
                "UPDATE g2p_sim_fund_block SET expiry_date = current_date - 1 "
                "WHERE id = %s",
                block.id,
            )
        )
        block.invalidate_recordset()
        self.assertBankError(
            "BLOCK_NOT_ACTIVE",
            self.bank.initiate_payment,
            [self._payment("E-1", 10, block)],
        )
        job = self.bank._cron_expire_blocks()
        self.assertEqual(job.db_record().channel, "root.g2p_bank_simulator")
        self.assertEqual(job.perform(), "1 fund blocks expired.")
        self.assertEqual(block.state, "expired")
        self.assertEqual(self._amounts(self.program)[1], 0)
        self.assertInvariants()

    def test_deposit(self):
        entry = self.program.deposit("0.50", "TOPUP")
        self.assertEqual(entry.mark, "C")
        self.assertEqual(entry.customer_reference, "TOPUP")
        self.assertEqual(self._amounts(self.program)[0], Decimal("1000.50"))
        self.assertBankError("INVALID_AMOUNT", self.program.deposit, "-5")
        self.assertInvariants()

    def test_control_characters_are_refused(self):
        """NUL cannot be stored and a line break moves the statement's lines: every
        text of the services is one line (even at an end, where strip() hides it)."""
        block = self.bank.block_funds("T-PROG-1", "EUR", 10, "CTRL-OK")
        for bad in ("X\x00Z", "X\x00", "A\nB", "A\r\n", "\tA", "A\x85", "A\u2028B"):
            with self.subTest(text=repr(bad)):
                error = self.assertBankError(
                    "INVALID_REQUEST", self.bank.check_funds, bad, "EUR", 1
                )
                self.assertIn("account_number", str(error))
                error = self.assertBankError(
                    "INVALID_REQUEST", self.bank.block_funds, "T-PROG-1", "EUR", 1, bad
                )
                self.assertIn("reference", str(error))
                self.assertBankError("INVALID_REQUEST", self.bank.release_block, bad)
                self.assertBankError("INVALID_REQUEST", self.program.deposit, 1, bad)
                self.assertBankError("INVALID_REQUEST", self.bank.get_statement, bad)
                self.assertBankError(
                    "INVALID_REQUEST", self.bank.generate_statement, bad
                )
        # Printable Unicode (a no-break space, accents) is text like any other.
        self.assertEqual(self.bank.release_block("CTRL-OK"), block)
        self.assertTrue(self.program.deposit(1, "D\u00e9p\u00f4t\u00a01"))

    def test_amounts_are_stored_at_the_currency_scale(self):
        block = self.bank.block_funds("T-PROG-1", "EUR", "1.000000000000000000000000")
        float_block = self.bank.block_funds("T-PROG-1", "EUR", 200.5)
        self.program.deposit(Decimal("5.0"))
        self.env.cr.execute(
            SQL(
                "SELECT amount::text FROM g2p_sim_fund_block WHERE id = ANY(%s) "
                "ORDER BY id",
                [block.id, float_block.id],
            )
        )
        self.assertEqual([r[0] for r in self.env.cr.fetchall()], ["1.00", "200.50"])
        self.env.cr.execute(
            SQL(
                """SELECT book_balance::text, blocked_amount::text,
                          available_balance::text
                     FROM g2p_sim_account WHERE id = %s""",
                self.program.id,
            )
        )
        self.assertEqual(self.env.cr.fetchone(), ("1005.00", "201.50", "803.50"))
        self.assertEqual(
            self.bank._to_amount(Decimal(7), self.eur).as_tuple().exponent, -2
        )

    def test_amounts_a_statement_cannot_carry_are_refused(self):
        """15 characters with the decimal comma: below 10^12 for 2 decimals."""
        limit = Decimal("1000000000000.00")
        self.assertBankError(
            "INVALID_AMOUNT", self.bank.check_funds, "T-PROG-1", "EUR", limit
        )
        self.assertBankError(
            "INVALID_AMOUNT", self.bank.block_funds, "T-PROG-1", "EUR", limit
        )
        self.assertBankError("INVALID_AMOUNT", self.program.deposit, limit)
        # Said in plain digits, whatever the caller wrote.
        error = self.assertBankError(
            "INVALID_AMOUNT", self.bank.check_funds, "T-PROG-1", "EUR", Decimal("1E+12")
        )
        self.assertIn("The amount 1000000000000 is too large", str(error))
        # The largest amount is accepted, but not a balance beyond it.
        self.assertFalse(self.bank.check_funds("T-PROG-1", "EUR", limit - 1))
        error = self.assertBankError(
            "INVALID_AMOUNT", self.program.deposit, limit - 1000
        )
        self.assertIn("balance", str(error))
        self.program.deposit(limit - Decimal("1000.01"))
        self.assertEqual(self._amounts(self.program)[0], limit - Decimal("0.01"))
        jpy = self.env.ref("base.JPY")
        jpy.active = True
        self._open("T-JPY", "1", currency=jpy)
        self.assertBankError(
            "INVALID_AMOUNT", self.bank.check_funds, "T-JPY", "JPY", 10**14
        )
        self.assertFalse(self.bank.check_funds("T-JPY", "JPY", 10**14 - 1))
        self.assertInvariants()

    def test_replayed_block_that_was_released_or_expired_fails(self):
        """Nothing is blocked under the reference any more: not "success"."""
        self.bank.block_funds("T-PROG-1", "EUR", 100, "PRG-REL")
        self.bank.release_block("PRG-REL")
        error = self.assertBankError(
            "BLOCK_NOT_ACTIVE", self.bank.block_funds, "T-PROG-1", "EUR", 100, "PRG-REL"
        )
        self.assertIn("released", str(error))
        expiring = self.bank.block_funds(
            "T-PROG-1", "EUR", 100, "PRG-EXP", fields.Date.today()
        )
        self.env.cr.execute(
            SQL(
                "UPDATE g2p_sim_fund_block SET expiry_date = current_date - 1 "
                "WHERE id = %s",
                expiring.id,
            )
        )
        expiring.invalidate_recordset()
        # Past its date, before and after the daily job expires it.
        error = self.assertBankError(
            "BLOCK_NOT_ACTIVE", self.bank.block_funds, "T-PROG-1", "EUR", 100, "PRG-EXP"
        )
        self.assertIn("expired", str(error))
        self.bank._expire_blocks()
        self.assertEqual(expiring.state, "expired")
        self.assertBankError(
            "BLOCK_NOT_ACTIVE", self.bank.block_funds, "T-PROG-1", "EUR", 100, "PRG-EXP"
        )
        # A block paid out from still answers with itself (its payments happened).
        used = self.bank.block_funds("T-PROG-1", "EUR", 5, "PRG-USED")
        batch = self.bank.initiate_payment([self._payment("BU-1", 5, used)])
        self.bank.process_batch(batch)
        self.assertEqual(used.state, "consumed")
        self.assertEqual(self.bank.block_funds("T-PROG-1", "EUR", 5, "PRG-USED"), used)
        self.assertInvariants()

    def test_generated_references_skip_those_clients_took(self):
        sequence = self.env["ir.sequence"].browse(self.bank._block_sequence_id())
        taken = f"BLK{sequence.number_next_actual:010d}"
        self.assertEqual(
            self.bank.block_funds("T-PROG-1", "EUR", 1, taken).reference, taken
        )
        generated = self.bank.block_funds("T-PROG-1", "EUR", 2)
        self.assertNotEqual(generated.reference, taken)
        self.assertRegex(generated.reference, r"^BLK\d{10}$")
        self.assertEqual(self._amounts(self.program)[1], Decimal(3))
        self.assertInvariants()
