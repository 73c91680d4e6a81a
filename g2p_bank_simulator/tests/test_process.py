from decimal import Decimal
from unittest.mock import patch

from psycopg2.errors import CheckViolation

from odoo.tools import SQL

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import PARAM, SimBankCase


class TestProcessBatch(SimBankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.block = cls.env["g2p.sim.bank"].block_funds("T-PROG-1", "EUR", "900.00")
        cls.ben_active = cls._open("T-BEN-OK", "5.00")
        cls._open("T-BEN-DORMANT", state="dormant")
        cls._open("T-BEN-CLOSED", state="closed")
        cls._open("T-BEN-DEAD", state="deceased")

    def _initiate(self, payments):
        with trap_jobs():
            return self.bank.initiate_payment(payments)

    def _entries(self, payment):
        return self.env["g2p.sim.ledger.entry"].search(
            [("payment_id", "=", payment.id)], order="id"
        )

    def _by_ref(self, batch):
        return {p.payment_reference_number: p for p in batch.payment_ids}

    def test_outcomes_ledger_and_balances(self):
        self.env["ir.config_parameter"].set_param(
            PARAM + "nonexistent_accounts", "T-GHOST\n  OTHER-GHOST  \n"
        )
        batch = self._initiate(
            [
                self._payment("OK-1", "100.00", self.block, "T-BEN-OK"),
                self._payment("NEW-1", "50.00", self.block, "T-BEN-NEW"),
                self._payment("DOR-1", "10.00", self.block, "T-BEN-DORMANT"),
                self._payment("CLO-1", "11.00", self.block, "T-BEN-CLOSED"),
                self._payment("DEC-1", "12.00", self.block, "T-BEN-DEAD"),
                self._payment("GHO-1", "13.00", self.block, "T-GHOST"),
                self._payment(
                    "OTH-1",
                    "20.00",
                    self.block,
                    "OTHER-ACC",
                    beneficiary_bank_code="OTHERBANK",
                ),
                self._payment(
                    "OTH-2",
                    "14.00",
                    self.block,
                    "OTHER-GHOST",
                    beneficiary_bank_code="OTHERBANK",
                ),
                self._payment(
                    "MOB-1",
                    "30.00",
                    self.block,
                    "+254700000001",
                    beneficiary_account_type="MOBILE_WALLET",
                    beneficiary_bank_code=None,
                    beneficiary_mobile_wallet_provider="MPESA",
                ),
                self._payment(
                    "EML-1",
                    "40.00",
                    self.block,
                    "a@example.org",
                    beneficiary_account_type="EMAIL_WALLET",
                    beneficiary_bank_code=None,
                    beneficiary_email_wallet_provider="PAYPAL",
                ),
            ]
        )
        with trap_jobs() as trap:
            self.bank.process_batch(batch)
            # A statement of the remitting account, as the example bank does.
            trap.assert_jobs_count(1)
            statement = self.env["g2p.sim.statement"].search(
                [("account_id", "=", self.program.id)]
            )
            trap.assert_enqueued_job(
                statement._job_generate,
                properties={"channel": "root.g2p_bank_simulator.statement"},
            )
        payments = self._by_ref(batch)
        expected = {
            "OK-1": ("success", False),
            "NEW-1": ("success", False),
            "DOR-1": ("failed", "ACCOUNT_DORMANT"),
            "CLO-1": ("failed", "ACCOUNT_CLOSED"),
            "DEC-1": ("failed", "ACCOUNT_DECEASED"),
            "GHO-1": ("failed", "ACCOUNT_NOT_FOUND"),
            "OTH-1": ("success", False),
            "OTH-2": ("failed", "ACCOUNT_NOT_FOUND"),
            "MOB-1": ("success", False),
            "EML-1": ("success", False),
        }
        self.assertEqual(
            {ref: (p.status, p.failure_reason) for ref, p in payments.items()}, expected
        )
        self.assertEqual(batch.state, "done")
        self.assertEqual(batch.attempt_count, 1)
        self.assertEqual((batch.success_count, batch.failed_count), (5, 5))
        self.assertEqual(Decimal(str(batch.amount_success)), Decimal("240.00"))
        self.assertEqual(Decimal(str(batch.amount_failed)), Decimal("60.00"))
        # Credits: our customer, a new account at our bank, clearing accounts.
        Account = self.env["g2p.sim.account"]
        credited = {
            ref: payments[ref].credit_account_id.account_number
            for ref in ("OK-1", "NEW-1", "OTH-1", "MOB-1", "EML-1")
        }
        self.assertEqual(
            credited,
            {
                "OK-1": "T-BEN-OK",
                "NEW-1": "T-BEN-NEW",
                "OTH-1": "CLR-OTHERBANK",
                "MOB-1": "CLR-MPESA",
                "EML-1": "CLR-PAYPAL",
            },
        )
        new = Account.search([("account_number", "=", "T-BEN-NEW")])
        self.assertEqual((new.kind, new.name), ("customer", "Name T-BEN-NEW"))
        self.assertEqual(self._amounts(new), (Decimal(50), 0, Decimal(50)))
        self.assertEqual(self._amounts(self.ben_active)[0], Decimal("105.00"))
        clearing = Account.search([("account_number", "=", "CLR-MPESA")])
        self.assertEqual(clearing.kind, "clearing")
        # Remitting account: debited 300 from blocked, 60 of it came back to available.
        self.assertEqual(
            self._amounts(self.program),
            (Decimal("760.00"), Decimal("600.00"), Decimal("160.00")),
        )
        self.assertEqual(
            self._block_amounts(self.block),
            (Decimal(300), Decimal(0), Decimal(600), "active"),
        )
        # Ledger: D (+ RD) on the remitting account, C on the credited one.
        ok = self._entries(payments["OK-1"])
        self.assertEqual(ok.mapped("mark"), ["D", "C"])
        self.assertEqual(ok[0].bank_reference, payments["OK-1"].bank_reference)
        self.assertEqual(ok[0].block_reference, self.block.reference)
        self.assertEqual(
            ok[0].narrative.split("\n"),
            ["Cash transfer", "PROG", "CYCLE1", "BEN-T-BEN-OK"],
        )
        self.assertEqual(ok[1].account_id, self.ben_active)
        self.assertIn("OK-1", ok[1].narrative)
        self.assertIn("T-PROG-1", ok[1].narrative)
        dead = self._entries(payments["DEC-1"])
        self.assertEqual(dead.mapped("mark"), ["D", "RD"])
        self.assertEqual(dead.mapped("account_id"), self.program)
        self.assertEqual(dead[1].reason, "ACCOUNT_DECEASED")
        lines = dead[1].narrative.split("\n")
        self.assertEqual(lines[3], "BEN-T-BEN-DEAD")
        self.assertEqual(lines[-1], "ACCOUNT_DECEASED")
        refs = self.env["g2p.sim.ledger.entry"].search([]).mapped("bank_reference")
        self.assertEqual(len(refs), len(set(refs)))
        self.assertTrue(all(len(r) <= 16 for r in refs))
        self.assertInvariants()

    def test_beneficiary_account_in_another_currency_fails(self):
        usd = self.env.ref("base.USD")
        self._open("T-BEN-USD", currency=usd)
        batch = self._initiate([self._payment("CUR-1", 7, self.block, "T-BEN-USD")])
        with trap_jobs():
            self.bank.process_batch(batch)
        self.assertEqual(
            (batch.payment_ids.status, batch.payment_ids.failure_reason),
            ("failed", "CURRENCY_MISMATCH"),
        )
        self.assertEqual(
            self._amounts(
                self.env["g2p.sim.account"].search(
                    [("account_number", "=", "T-BEN-USD")]
                )
            ),
            (0, 0, 0),
        )
        self.assertInvariants()

    def test_long_reference_goes_to_narrative_5(self):
        long_ref = "BRIDGE-" + "7" * 30
        batch = self._initiate([self._payment(long_ref, 5, self.block, "T-BEN-CLOSED")])
        with trap_jobs():
            self.bank.process_batch(batch)
        debit, reversal = self._entries(batch.payment_ids)
        self.assertEqual(debit.narrative.split("\n")[4], long_ref)
        self.assertEqual(
            reversal.narrative.split("\n")[4:], [long_ref, "ACCOUNT_CLOSED"]
        )

    def test_rerun_after_done_changes_nothing(self):
        batch = self._initiate([self._payment("RR-1", 100, self.block, "T-BEN-OK")])
        with trap_jobs():
            self.bank.process_batch(batch)
        before = self._snapshot()
        with trap_jobs() as trap:
            self.bank.process_batch(batch)
            trap.assert_jobs_count(0)
        self.assertEqual(self._snapshot(), before)
        self.assertEqual(batch.attempt_count, 1)
        self.assertInvariants()

    def test_crash_mid_way_then_retry(self):
        """A worker dies after the debits were written: nothing stays, the retry pays
        each payment exactly once."""
        batch = self._initiate(
            [
                self._payment("CR-1", 100, self.block, "T-BEN-OK"),
                self._payment("CR-2", 50, self.block, "T-BEN-CLOSED"),
            ]
        )
        before = self._snapshot()
        Batch = type(self.env["g2p.sim.payment.batch"])

        def crash(self_):
            raise KeyboardInterrupt("worker killed")  # not an Exception: not caught

        with (
            patch.object(Batch, "_update_balances", crash),
            self.assertRaises(KeyboardInterrupt),
            self.env.cr.savepoint(),
        ):
            self.bank.process_batch(batch)
        self.env.invalidate_all()
        self.assertEqual(self._snapshot(), before)
        self.assertEqual(batch.state, "pending")
        with trap_jobs():
            self.bank.process_batch(batch)
        self.assertEqual(batch.state, "done")
        self.assertEqual(
            self._amounts(self.program),
            (Decimal(900), Decimal(750), Decimal(150)),
        )
        self.assertInvariants()

    def test_unexpected_error_fails_the_batch(self):
        batch = self._initiate([self._payment("ER-1", 100, self.block, "T-BEN-OK")])
        before = self._snapshot()
        Batch = type(self.env["g2p.sim.payment.batch"])

        def broken(self_):
            raise ValueError("disk on fire")

        with patch.object(Batch, "_update_balances", broken), trap_jobs() as trap:
            result = self.bank.process_batch(batch)
            trap.assert_jobs_count(0)
        self.assertIn("disk on fire", result)
        self.assertEqual((batch.state, batch.attempt_count), ("failed", 1))
        self.assertIn("disk on fire", batch.error)
        self.assertEqual(self._snapshot(), before)
        with trap_jobs() as trap:
            batch.action_retry()
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
        self.assertEqual((batch.state, batch.attempt_count), ("done", 2))
        self.assertFalse(batch.error)
        self.assertInvariants()

    def test_clearing_account_per_provider_whatever_its_spelling(self):
        """M-Pesa, m-pesa and MPESA are one provider: one clearing account, named
        without spaces. A clearing account named the old way keeps its ledger."""
        old = self._open("CLR-M-Pesa")
        old.kind = "clearing"
        old.deposit("7.00")

        def wallet(ref, provider):
            return self._payment(
                ref,
                "1.00",
                self.block,
                f"+2547000{ref}",
                beneficiary_account_type="MOBILE_WALLET",
                beneficiary_bank_code=None,
                beneficiary_mobile_wallet_provider=provider,
            )

        batch = self._initiate(
            [
                wallet("W1", "M-Pesa"),
                wallet("W2", "m-pesa"),
                wallet("W3", "MPESA"),
                wallet("W4", "Airtel Money"),
                self._payment(
                    "W5", "1.00", self.block, "X-1", beneficiary_bank_code="Other Bank"
                ),
            ]
        )
        with trap_jobs():
            self.bank.process_batch(batch)
        self.assertEqual(
            {
                ref: p.credit_account_id.account_number
                for ref, p in self._by_ref(batch).items()
            },
            {
                "W1": "CLR-MPESA",
                "W2": "CLR-MPESA",
                "W3": "CLR-MPESA",
                "W4": "CLR-AIRTELMONEY",
                "W5": "CLR-OTHERBANK",
            },
        )
        clearing = self.env["g2p.sim.account"].search(
            [("account_number", "=", "CLR-MPESA")]
        )
        self.assertEqual(clearing.kind, "clearing")
        self.assertEqual(self._amounts(clearing)[0], Decimal("3.00"))
        self.assertEqual(self._amounts(old)[0], Decimal("7.00"))
        self.assertInvariants()


class TestFailureSimulation(SimBankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program.deposit("100000.00", "MORE")
        cls.block = cls.env["g2p.sim.bank"].block_funds("T-PROG-1", "EUR", "100000")

    def _run(self, prefix, count=200):
        with trap_jobs():
            batch = self.bank.initiate_payment(
                [
                    self._payment(
                        f"{prefix}-{i}",
                        1,
                        self.block,
                        f"EXT-{i}",
                        beneficiary_bank_code="OTHERBANK",
                    )
                    for i in range(count)
                ]
            )
            self.bank.process_batch(batch)
        return {
            p.payment_reference_number.split("-", 1)[1]: p.failure_reason
            for p in batch.payment_ids
        }

    def test_rate_and_determinism(self):
        icp = self.env["ir.config_parameter"]
        icp.set_param(PARAM + "failure_rate", "0")
        self.assertEqual(set(self._run("Z").values()), {False})
        icp.set_param(PARAM + "failure_rate", "100")
        reasons = self._run("H")
        self.assertNotIn(False, reasons.values())
        self.assertEqual(
            set(reasons.values()),
            {
                "ACCOUNT_NOT_FOUND",
                "ACCOUNT_CLOSED",
                "ACCOUNT_DORMANT",
                "ACCOUNT_DECEASED",
            },
        )
        icp.set_param(PARAM + "failure_rate", "25")
        first = self._run("S")
        failed = sum(1 for reason in first.values() if reason)
        self.assertTrue(25 <= failed <= 75, failed)
        # Same seed, same references: the same payments fail with the same reasons.
        simulator = self.env["g2p.sim.failure.simulator"]
        payments = [
            {
                "id": i,
                "reference": f"S-{i}",
                "account": f"EXT-{i}",
                "account_type": "BANK_ACCOUNT",
                "bank_code": "OTHERBANK",
                "provider": None,
                "currency_id": self.eur.id,
            }
            for i in range(200)
        ]
        again = simulator._decide(payments)
        self.assertEqual(
            {str(i): again[i][0] or False for i in range(200)},
            first,
        )
        icp.set_param(PARAM + "seed", "another seed")
        other = simulator._decide(payments)
        self.assertNotEqual(
            {i: other[i][0] for i in range(200)}, {i: again[i][0] for i in range(200)}
        )
        self.assertInvariants()

    def test_the_database_refuses_a_double_debit(self):
        """Even a buggy second debit cannot drive a block below zero."""
        self.env.flush_all()
        with self.assertRaises(CheckViolation), self.env.cr.savepoint():
            self.env.cr.execute(
                SQL(
                    "UPDATE g2p_sim_fund_block SET amount_consumed = amount + 1, "
                    "amount_remaining = -1 WHERE id = %s",
                    self.block.id,
                )
            )
