from odoo.exceptions import AccessError
from odoo.tests import new_test_user

from .common import G2pBankCase


class TestAccessRights(G2pBankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo gives new internal users "Contact Creation": the registry must still
        # keep them away from registrants.
        cls.internal = new_test_user(
            cls.env,
            login="t_internal",
            groups="base.group_user,base.group_partner_manager",
        )
        cls.account = cls.create_account(acc_number="4711")

    def test_registrar_creates_and_edits_but_cannot_delete(self):
        Partner = self.Partner.with_user(self.registrar)
        person = Partner.create({"name": "By registrar", "is_registrant": True})
        person.phone = "+254 700 000 000"
        account = self.Account.with_user(self.registrar).create(
            {"partner_id": person.id, "acc_number": "123"}
        )
        account.g2p_state = "verified"
        bank = self.Bank.with_user(self.registrar)._g2p_lookup_or_create(
            name="Reg Bank"
        )
        self.assertTrue(bank)
        with self.assertRaises(AccessError):
            person.unlink()
        with self.assertRaises(AccessError):
            account.unlink()
        with self.assertRaises(AccessError):
            bank.unlink()
        self.assertTrue(person.exists() and account.exists())

    def test_registrar_with_contact_creation_still_cannot_delete(self):
        self.registrar.groups_id |= self.env.ref("base.group_partner_manager")
        with self.assertRaises(AccessError):
            self.person.with_user(self.registrar).unlink()
        self.assertTrue(self.person.exists())

    def test_plain_internal_user_cannot_touch_registrants(self):
        Partner = self.Partner.with_user(self.internal)
        with self.assertRaises(AccessError):
            Partner.create({"name": "Sneaky", "is_registrant": True})
        with self.assertRaises(AccessError):
            Partner.with_context(default_is_registrant=True).create(
                {"name": "Sneaky 2"}
            )
        with self.assertRaises(AccessError):
            self.person.with_user(self.internal).name = "Renamed"
        with self.assertRaises(AccessError):
            Partner.create({"name": "Contact"}).is_registrant = True
        with self.assertRaises(AccessError):
            self.Account.with_user(self.internal).create(
                {"partner_id": self.person.id, "acc_number": "999"}
            )
        with self.assertRaises(AccessError):
            self.account.with_user(self.internal).g2p_state = "closed"
        # Reading stays open, and ordinary contacts are unaffected.
        self.assertEqual(
            self.person.with_user(self.internal).g2p_functional_id, "T-PERSON-1"
        )
        self.assertTrue(Partner.create({"name": "Supplier"}))

    def test_registry_admin_has_full_rights(self):
        Partner = self.Partner.with_user(self.registry_admin)
        person = Partner.create({"name": "By admin", "is_registrant": True})
        account = self.Account.with_user(self.registry_admin).create(
            {"partner_id": person.id, "acc_number": "123"}
        )
        account.unlink()
        person.unlink()
        self.assertFalse(person.exists())
        self.account.with_user(self.registry_admin).unlink()
        self.assertFalse(self.account.exists())
