import threading

from psycopg2 import errors

from odoo.exceptions import ValidationError
from odoo.tools import mute_logger

from .common import G2pBankCase


class TestBankLookup(G2pBankCase):
    def test_lookup_by_bic(self):
        self.assertEqual(self.Bank._g2p_lookup_or_create(bic="cobadehh"), self.bank_de)
        self.assertEqual(
            self.Bank._g2p_lookup_or_create(bic="COBADEHHXXX", name="Whatever"),
            self.bank_de,
        )

    def test_lookup_by_normalised_name(self):
        bank = self.Bank._g2p_lookup_or_create(name="Bank of X")
        self.assertEqual(bank.name, "Bank of X")
        for spelling in ["BANK OF X ", "bank  of x", "  Bank\tof X"]:
            self.assertEqual(self.Bank._g2p_lookup_or_create(name=spelling), bank)
        self.assertEqual(
            self.Bank.search_count([("g2p_name_key", "=", "bank of x")]), 1
        )

    def test_creates_unknown_bank_with_bic(self):
        bank = self.Bank._g2p_lookup_or_create(bic="zyxwdeff", name="Lookup Test")
        self.assertEqual((bank.name, bank.bic), ("Lookup Test", "ZYXWDEFF"))
        nameless = self.Bank._g2p_lookup_or_create(bic="ZYXVDEFF")
        self.assertEqual(nameless.name, "ZYXVDEFF")

    def test_name_only_bank_gets_its_bic(self):
        bank = self.Bank._g2p_lookup_or_create(name="Bank of Y")
        again = self.Bank._g2p_lookup_or_create(bic="BOFYKENA", name="bank of y")
        self.assertEqual(again, bank)
        self.assertEqual(bank.bic, "BOFYKENA")

    def test_lists_for_bulk_callers(self):
        banks = self.Bank._g2p_lookup_or_create(
            bic=["TESTKENA", None, None, "ZYXUKENA", "zyxukena"],
            name=[None, "Bank of Z", "BANK OF Z", "Equity", "Equity"],
        )
        self.assertEqual(len(banks), 5)
        self.assertEqual(banks[0], self.bank_ke)
        self.assertEqual(banks[1], banks[2])
        self.assertEqual(banks[3], banks[4])
        self.assertEqual(banks[3].bic, "ZYXUKENA")
        self.assertEqual(
            self.Bank.search_count([("g2p_name_key", "=", "bank of z")]), 1
        )

    def test_invalid_input(self):
        with self.assertRaisesRegex(ValidationError, "needs a BIC or a name"):
            self.Bank._g2p_lookup_or_create(name="   ")
        with self.assertRaisesRegex(ValidationError, "BIC .*NOPE is not valid"):
            self.Bank._g2p_lookup_or_create(bic="NOPE")
        self.assertFalse(self.Bank.search([("bic", "=", "NOPE")]))


class TestBankLookupConcurrency(G2pBankCase):
    """Two real transactions ask for the same unknown bank at the same time."""

    NAME = "Concurrent Test Bank"

    def tearDown(self):
        with self.env.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM res_bank WHERE g2p_name_key = %s", [self.NAME.lower()]
            )
        super().tearDown()

    def _lookup(self, env, spelling):
        return env["res.bank"]._g2p_lookup_or_create(name=spelling).id

    @mute_logger("odoo.sql_db")  # B's expected serialization failure
    def test_concurrent_requests_create_one_bank(self):
        registry = self.env.registry
        outcome = {}
        with registry.cursor() as cr_a, registry.cursor() as cr_b:
            # Environments are made here: Odoo's test runner holds the registry lock
            # that making one in the thread would wait for.
            env_a, env_b = self.env(cr=cr_a), self.env(cr=cr_b)
            # B takes its snapshot before A commits, like a request already running.
            cr_b.execute("SELECT 1 FROM res_bank LIMIT 1")
            bank_a = self._lookup(env_a, self.NAME)

            def request_b():
                try:
                    outcome["id"] = self._lookup(env_b, self.NAME.upper() + "  ")
                except errors.SerializationFailure as exc:
                    outcome["error"] = exc

            thread = threading.Thread(target=request_b)
            thread.start()
            thread.join(timeout=1)
            self.assertTrue(thread.is_alive(), "B waits for A's uncommitted bank")
            cr_a.commit()
            thread.join(timeout=30)
            # Odoo retries a request that failed with a serialization failure: the
            # retry (a new transaction) finds A's bank.
            self.assertIn("error", outcome, "B's stale snapshot cannot see A's bank")
            cr_b.rollback()
            self.assertEqual(self._lookup(env_b, self.NAME.lower()), bank_a)
            cr_b.execute(
                "SELECT count(*) FROM res_bank WHERE g2p_name_key = %s",
                [self.NAME.lower()],
            )
            self.assertEqual(cr_b.fetchone()[0], 1)
