from odoo.exceptions import ValidationError

from .common import G2pBankCase


class TestArchiving(G2pBankCase):
    """Archived registrants and banks are not paid into by mistake."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.head = cls.create_registrant("Head")
        cls.group = cls.create_registrant("Household", is_group=True)
        cls.env["g2p.group.membership"].create(
            {"group_id": cls.group.id, "individual_id": cls.head.id, "is_head": True}
        )
        cls.head_account = cls.create_account(partner=cls.head, acc_number="555")

    def assertRefused(self, msg, call):
        with self.assertRaises(ValidationError) as refusal:
            call()
        self.assertRegex(str(refusal.exception), msg)

    def test_head_of_a_group_paid_through_the_head_is_not_archived(self):
        head = self.head.with_user(self.registrar)
        self.assertRefused(
            "Head is the head of Household, which is paid through its head",
            head.action_archive,
        )
        self.assertTrue(self.head.active)
        # Archived together with its group, or once the group pays itself: fine.
        (self.head | self.group).action_archive()
        (self.head | self.group).action_unarchive()
        self.group.g2p_pay_via_head = False
        head.action_archive()
        self.assertFalse(self.head.active)

    def test_archived_head_is_not_paid_for_the_group(self):
        # How it could still come about: the group pays through its head again.
        self.group.g2p_pay_via_head = False
        self.head.action_archive()
        self.group.g2p_pay_via_head = True
        self.assertEqual(self.group._g2p_payee(), self.head)
        self.assertFalse(self.group._g2p_payment_accounts()[self.group.id])

    def test_bank_with_registrants_accounts_is_not_archived(self):
        self.create_account(acc_number="111", bank_id=self.bank_ke.id)
        closed = self.create_account(
            partner=self.head,
            acc_number="222",
            bank_id=self.bank_ke.id,
        )
        self.Account.create(
            {
                "partner_id": self.head.id,
                "acc_number": "333",
                "bank_id": self.bank_ke.id,
                "g2p_state": "closed",
            }
        )
        bank = self.bank_ke.with_user(self.registrar)
        self.assertRefused(
            "Test Bank Kenya holds 2 accounts of registrants", bank.action_archive
        )
        self.assertTrue(self.bank_ke.active)
        closed.g2p_state = "closed"
        self.person.bank_ids.action_archive()
        bank.action_archive()
        self.assertFalse(self.bank_ke.active)
