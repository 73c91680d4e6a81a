from decimal import Decimal

from odoo.tests import TransactionCase
from odoo.tools import SQL

from odoo.addons.g2p_bank_simulator.exceptions import G2PSimBankError

PARAM = "g2p_bank_simulator."


class SimBankCase(TransactionCase):
    """Own data for every test: a currency, a funded program account, settings."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.bank = cls.env["g2p.sim.bank"]
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        icp = cls.env["ir.config_parameter"].sudo()
        icp.set_param(PARAM + "bank_code", "TESTBANK")
        icp.set_param(PARAM + "failure_rate", "0")
        icp.set_param(PARAM + "seed", "42")
        icp.set_param(PARAM + "nonexistent_accounts", "")
        icp.set_param(PARAM + "statement_upload_url", "")
        cls.program = cls._open("T-PROG-1", "1000.00")

    @classmethod
    def _open(cls, number, deposit=None, state="active", currency=None):
        account = cls.env["g2p.sim.account"].create(
            {
                "account_number": number,
                "name": f"Holder {number}",
                "currency_id": (currency or cls.eur).id,
            }
        )
        if deposit:
            account.deposit(deposit, "OPENING")
        if state != "active":
            account.state = state
        return account

    def _payment(self, ref, amount, block, beneficiary="T-BEN-1", **extra):
        values = {
            "payment_reference_number": ref,
            "remitting_account": block.account_id.account_number,
            "remitting_account_currency": block.currency_id.name,
            "payment_amount": amount,
            "funds_blocked_reference_number": block.reference,
            "beneficiary_name": f"Name {beneficiary}",
            "beneficiary_account": beneficiary,
            "beneficiary_account_currency": block.currency_id.name,
            "beneficiary_account_type": "BANK_ACCOUNT",
            "beneficiary_bank_code": "TESTBANK",
            "beneficiary_branch_code": "001",
            "narrative_1": "Cash transfer",
            "narrative_2": "PROG",
            "narrative_3": "CYCLE1",
            "narrative_4": f"BEN-{beneficiary}",
            "payment_date": "2026-11-22",
            "active": True,  # an extra key, as the bridge sends: ignored
        }
        values.update(extra)
        return values

    def _amounts(self, account):
        """(book, blocked, available) read exactly."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT book_balance::text, blocked_amount::text,
                          available_balance::text
                     FROM g2p_sim_account WHERE id = %s""",
                account.id,
            )
        )
        return tuple(Decimal(v) for v in self.env.cr.fetchone())

    def _block_amounts(self, block):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT amount_consumed::text, amount_reserved::text,
                          amount_remaining::text, state
                     FROM g2p_sim_fund_block WHERE id = %s""",
                block.id,
            )
        )
        consumed, reserved, remaining, state = self.env.cr.fetchone()
        return Decimal(consumed), Decimal(reserved), Decimal(remaining), state

    def _snapshot(self):
        """Everything a service may change: to prove that an error changed nothing."""
        self.env.flush_all()
        cr = self.env.cr
        result = []
        for query in (
            (
                "SELECT id, book_balance, blocked_amount, available_balance, state "
                "FROM g2p_sim_account ORDER BY id"
            ),
            (
                "SELECT id, amount_consumed, amount_reserved, amount_remaining, state "
                "FROM g2p_sim_fund_block ORDER BY id"
            ),
            "SELECT count(*) FROM g2p_sim_payment",
            "SELECT count(*) FROM g2p_sim_payment_batch",
            "SELECT count(*) FROM g2p_sim_ledger_entry",
            "SELECT count(*) FROM queue_job",
        ):
            cr.execute(SQL(query))
            result.append(cr.fetchall())
        return result

    def assertBankError(self, code, func, *args, **kwargs):
        """The call raises G2PSimBankError(code) and changes nothing."""
        before = self._snapshot()
        with self.assertRaises(G2PSimBankError) as caught:
            func(*args, **kwargs)
        self.assertEqual(caught.exception.code, code, caught.exception.args[0])
        self.assertEqual(self._snapshot(), before, "an error must change nothing")
        return caught.exception

    def assertInvariants(self):
        """Recompute every invariant from the ledger, blocks and payments."""
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            SQL(
                """SELECT a.account_number, a.book_balance::text,
                          a.blocked_amount::text, a.available_balance::text,
                          coalesce(l.total, 0)::text, coalesce(b.remaining, 0)::text
                     FROM g2p_sim_account a
                     LEFT JOIN (SELECT account_id, sum(signed_amount) AS total
                                  FROM g2p_sim_ledger_entry GROUP BY account_id) l
                            ON l.account_id = a.id
                     LEFT JOIN (SELECT account_id, sum(amount_remaining) AS remaining
                                  FROM g2p_sim_fund_block GROUP BY account_id) b
                            ON b.account_id = a.id"""
            )
        )
        for number, *values in cr.fetchall():
            book, blocked, available, ledger, remaining = map(Decimal, values)
            self.assertEqual(book - blocked, available, f"{number}: book - blocked")
            self.assertEqual(ledger, book, f"{number}: ledger sum != book balance")
            self.assertEqual(blocked, remaining, f"{number}: blocked != blocks left")
            self.assertGreaterEqual(available, 0, number)
        cr.execute(
            SQL(
                """SELECT reference FROM g2p_sim_fund_block
                    WHERE amount_remaining < 0 OR amount_reserved > amount_remaining
                       OR amount_remaining
                          != amount - amount_consumed - amount_released"""
            )
        )
        self.assertFalse(cr.fetchall(), "block amounts inconsistent")
        # A processed payment has exactly one debit; a pending one none.
        cr.execute(
            SQL(
                """SELECT p.payment_reference_number, p.status, count(l.id)
                     FROM g2p_sim_payment p
                     LEFT JOIN g2p_sim_ledger_entry l
                            ON l.payment_id = p.id AND l.mark = 'D'
                    GROUP BY p.id
                   HAVING count(l.id) != CASE WHEN p.status = 'pending' THEN 0
                                              ELSE 1 END"""
            )
        )
        self.assertFalse(cr.fetchall(), "a payment was debited zero or two times")
        # Consumed amount of each block = what its processed payments debited.
        cr.execute(
            SQL(
                """SELECT b.reference FROM g2p_sim_fund_block b
                     LEFT JOIN (SELECT block_id, sum(payment_amount) AS total
                                  FROM g2p_sim_payment WHERE status != 'pending'
                                 GROUP BY block_id) p ON p.block_id = b.id
                    WHERE b.amount_consumed != coalesce(p.total, 0)"""
            )
        )
        self.assertFalse(cr.fetchall(), "block consumption != processed payments")
