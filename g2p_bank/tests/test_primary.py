from odoo.exceptions import ValidationError
from odoo.tools import mute_logger

from .common import G2pBankCase


class TestPrimaryAccount(G2pBankCase):
    def test_first_account_becomes_primary(self):
        first = self.create_account(acc_number="111")
        second = self.create_account(acc_number="222")
        self.assertTrue(first.g2p_is_primary)
        self.assertFalse(second.g2p_is_primary)
        self.assertEqual(self.person.g2p_primary_bank_account_id, first)

    def test_first_open_account_of_a_batch_becomes_primary(self):
        accounts = self.Account.create(
            [
                {
                    "partner_id": self.person.id,
                    "acc_number": "1",
                    "g2p_state": "closed",
                },
                {"partner_id": self.person.id, "acc_number": "2"},
                {"partner_id": self.person.id, "acc_number": "3"},
            ]
        )
        self.assertEqual(accounts.mapped("g2p_is_primary"), [False, True, False])

    def test_new_primary_unsets_the_old_one(self):
        first = self.create_account(acc_number="111")
        second = self.create_account(acc_number="222", g2p_is_primary=True)
        self.assertFalse(first.g2p_is_primary)
        self.assertTrue(second.g2p_is_primary)
        first.g2p_is_primary = True
        self.assertFalse(second.g2p_is_primary)
        self.assertEqual(self.person.g2p_primary_bank_account_id, first)

    def test_closed_account_cannot_be_primary(self):
        self.create_account(acc_number="111")
        closed = self.create_account(acc_number="222", g2p_state="closed")
        msg = "The account 222 is closed and cannot be the primary account"
        with self.assertRaisesRegex(ValidationError, msg):
            closed.g2p_is_primary = True
        with self.assertRaisesRegex(ValidationError, "account 222b is closed"):
            self.create_account(
                acc_number="222b", g2p_state="closed", g2p_is_primary=True
            )
        with self.assertRaisesRegex(ValidationError, "is closed and cannot be"):
            self.create_account(acc_number="333").write(
                {"g2p_state": "closed", "g2p_is_primary": True}
            )

    def test_closing_or_archiving_the_primary_unsets_it(self):
        first = self.create_account(acc_number="111")
        first.g2p_state = "closed"
        self.assertFalse(first.g2p_is_primary)
        self.assertFalse(self.person.g2p_primary_bank_account_id)
        second = self.create_account(acc_number="222")
        self.assertTrue(second.g2p_is_primary, "no primary left: the new one is")
        second.active = False
        self.assertFalse(second.g2p_is_primary)

    def test_bulk_write_cannot_make_two_primaries(self):
        accounts = self.Account.create(
            [
                {"partner_id": self.person.id, "acc_number": "111"},
                {"partner_id": self.person.id, "acc_number": "222"},
            ]
        )
        with self.assertRaisesRegex(ValidationError, "only one primary account"):
            accounts.write({"g2p_is_primary": True})
        self.assertEqual(accounts.mapped("g2p_is_primary"), [True, False])
        with self.assertRaisesRegex(ValidationError, "only one primary account"):
            self.Account.create(
                [
                    {
                        "partner_id": self.person.id,
                        "acc_number": "3",
                        "g2p_is_primary": True,
                    },
                    {
                        "partner_id": self.person.id,
                        "acc_number": "4",
                        "g2p_is_primary": True,
                    },
                ]
            )

    def test_bulk_write_across_registrants(self):
        other = self.create_registrant("Other person")
        old = self.create_account(acc_number="111") | self.create_account(
            partner=other, acc_number="111"
        )
        new = self.create_account(acc_number="222") | self.create_account(
            partner=other, acc_number="222"
        )
        new.write({"g2p_is_primary": True})
        self.assertEqual(old.mapped("g2p_is_primary"), [False, False])
        self.assertEqual(new.mapped("g2p_is_primary"), [True, True])

    @mute_logger("odoo.sql_db")  # the expected unique violation
    def test_database_refuses_a_second_active_primary(self):
        first = self.create_account(acc_number="111")
        second = self.create_account(acc_number="222")
        self.env.flush_all()
        # Even a path that skips the ORM rules cannot create a second primary.
        with self.assertRaises(Exception) as caught, self.env.cr.savepoint():
            self.env.cr.execute(
                "UPDATE res_partner_bank SET g2p_is_primary = TRUE WHERE id = %s",
                [second.id],
            )
        self.assertIn("res_partner_bank_g2p_one_primary", str(caught.exception))
        self.assertTrue(first.g2p_is_primary)

    def test_group_paid_through_its_head(self):
        head = self.create_registrant("Head")
        member = self.create_registrant("Member")
        group = self.create_registrant("Household", is_group=True)
        self.env["g2p.group.membership"].create(
            [
                {"group_id": group.id, "individual_id": head.id, "is_head": True},
                {"group_id": group.id, "individual_id": member.id},
            ]
        )
        head_account = self.create_account(partner=head, acc_number="555")
        group_account = self.create_account(partner=group, acc_number="777")
        self.assertEqual(group._g2p_payee(), head)
        self.assertEqual(group._g2p_payment_accounts()[group.id], head_account)
        group.g2p_pay_via_head = False
        self.assertEqual(group._g2p_payment_accounts()[group.id], group_account)

    def test_moved_account_does_not_take_its_primary_flag(self):
        other = self.create_registrant("New holder")
        other_primary = self.create_account(partner=other, acc_number="900")
        moved = self.create_account(acc_number="111")
        moved.partner_id = other
        self.assertFalse(moved.g2p_is_primary)
        self.assertEqual(other.g2p_primary_bank_account_id, other_primary)

    def test_same_holder_written_again_keeps_the_primary_flag(self):
        """Writing an account's holder unchanged (a data import, a module update
        re-applying data files) is not a move: the account stays primary."""
        primary = self.create_account(acc_number="111")
        other = self.create_registrant("New holder")
        moved = self.create_account(partner=other, acc_number="900")
        (primary | moved).write({"partner_id": self.person.id})
        self.assertTrue(primary.g2p_is_primary)
        self.assertFalse(moved.g2p_is_primary)
        self.assertEqual(self.person.g2p_primary_bank_account_id, primary)
        primary.write({"partner_id": self.person.id, "g2p_branch_code": "12"})
        self.assertEqual(self.person.g2p_primary_bank_account_id, primary)
