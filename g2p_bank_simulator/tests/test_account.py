from decimal import Decimal

from psycopg2 import IntegrityError

from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user
from odoo.tools import mute_logger

from odoo.addons.g2p_bank_simulator.exceptions import G2PSimBankError

from .common import SimBankCase


class TestAccount(SimBankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.operator = new_test_user(
            cls.env, "t_sim_acc_operator", groups="g2p_bank_simulator.group_operator"
        )
        cls.Account = cls.env["g2p.sim.account"].with_user(cls.operator)

    def _create(self, number, **values):
        return self.Account.create(
            {"account_number": number, "name": "Holder", "currency_id": self.eur.id}
            | values
        )

    def test_account_number_is_stripped(self):
        """Payments name accounts stripped: an account stored with its spaces could
        never be paid."""
        account = self._create(" rv2reg-acc-0 ")
        self.assertEqual(account.account_number, "rv2reg-acc-0")
        account.account_number = "\u00a0rv2reg-acc-1 "
        self.assertEqual(account.account_number, "rv2reg-acc-1")
        account.deposit("10.00")
        self.assertTrue(self.bank.check_funds("rv2reg-acc-1", "EUR", "10"))

    def test_account_number_is_one_non_empty_line(self):
        for number in ("ACC\t2", "ACC-2\n", "\x00", "", "   ", False):
            with self.subTest(number=number), self.assertRaises(G2PSimBankError):
                self._create(number)
        account = self._create("ACC-3")
        with self.assertRaisesRegex(G2PSimBankError, "U\\+0009"):
            account.account_number = "ACC\t3"
        self.assertEqual(account.account_number, "ACC-3")

    def test_account_number_is_unique_once_stripped(self):
        self._create("ACC-2")
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(IntegrityError),
            self.env.cr.savepoint(),
        ):
            self._create("ACC-2 ")
        self.assertEqual(
            self.Account.search_count([("account_number", "like", "ACC-2%")]), 1
        )

    def test_number_kind_currency_fixed_once_booked(self):
        """The ledger and the statements carry them."""
        program = self.program.with_user(self.operator)
        usd = self.env.ref("base.USD")
        for values in (
            {"account_number": "T-PROG-RENAMED"},
            {"kind": "clearing"},
            {"currency_id": usd.id},
        ):
            with (
                self.subTest(values=values),
                self.assertRaisesRegex(UserError, "has ledger entries"),
            ):
                program.write(values)
        self.assertEqual(
            (program.account_number, program.kind, program.currency_id),
            ("T-PROG-1", "customer", self.eur),
        )
        # Unchanged values (a form saving every field) and other fields pass.
        program.write({"account_number": " T-PROG-1", "kind": "customer", "name": "P"})
        # An account without entries may still be corrected.
        fresh = self._create("T-NEW")
        fresh.write({"account_number": "T-NEW-2", "kind": "clearing"})
        self.assertEqual((fresh.account_number, fresh.kind), ("T-NEW-2", "clearing"))

    def test_account_holding_money_cannot_be_closed(self):
        account = self._create("T-HOLDS")
        account.deposit("1200.50")
        with self.assertRaisesRegex(UserError, "holds 1200.50 EUR, 0.00 of them"):
            account.state = "closed"
        self.bank.block_funds("T-PROG-1", "EUR", "1000.00")
        with (
            self.assertRaisesRegex(UserError, "holds 1000.00 EUR, 1000.00 of them"),
            Form(self.program.with_user(self.operator)) as form,
        ):
            form.state = "closed"
        self.assertEqual((account.state, self.program.state), ("active", "active"))
        # Other states keep the money; an empty account closes.
        account.state = "dormant"
        self._create("T-EMPTY").state = "closed"

    def test_deposit_into_an_account_not_active_is_refused(self):
        for state in ("closed", "dormant", "deceased"):
            account = self._create(f"T-{state}", state=state)
            with self.subTest(state=state):
                error = self.assertBankError(
                    "ACCOUNT_NOT_ACTIVE", account.deposit, Decimal("5.00")
                )
                self.assertIn(f"is {state}", str(error))
        self.assertEqual(
            self.env["g2p.sim.ledger.entry"].search_count(
                [("account_id.account_number", "in", ["T-closed", "T-dormant"])]
            ),
            0,
        )
