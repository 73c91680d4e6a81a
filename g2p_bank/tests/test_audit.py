from .common import G2pBankCase


class TestAuditTrail(G2pBankCase):
    def _messages(self, partner):
        return self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", partner.id)], order="id"
        )

    def _changes(self, message):
        """{field name: (old, new)} of a message's tracking values, as displayed."""
        return {
            value["fieldName"]: (value["oldValue"]["value"], value["newValue"]["value"])
            for value in message.sudo().tracking_value_ids._tracking_value_format()
        }

    def test_added_account_is_recorded_with_author(self):
        person = self.create_registrant("Audited", "T-AUDIT-1")
        self.Account.with_user(self.registrar).create(
            {"partner_id": person.id, "acc_number": "4711", "bank_id": self.bank_ke.id}
        )
        message = self._messages(person)[-1]
        self.assertEqual(message.author_id, self.registrar.partner_id)
        self.assertIn("Bank account added", message.body)
        self.assertIn("4711@TESTKENA", message.body)
        self.assertIn("primary", message.body)

    def test_changes_are_recorded_with_old_and_new_values(self):
        person = self.create_registrant("Audited", "T-AUDIT-2")
        account = self.create_account(partner=person, acc_number="4711")
        account.with_user(self.registrar).write(
            {"acc_number": "4712", "bank_id": self.bank_ke.id, "g2p_state": "verified"}
        )
        message = self._messages(person)[-1]
        self.assertEqual(message.author_id, self.registrar.partner_id)
        self.assertIn("changed", message.body)
        changes = self._changes(message)
        self.assertEqual(changes["acc_number"], ("4711", "4712"))
        self.assertEqual(changes["g2p_state"], ("Unverified", "Verified"))
        self.assertEqual(changes["bank_id"][1], "Test Bank Kenya - TESTKENA")
        self.assertNotIn("g2p_is_primary", changes)

    def test_type_and_primary_changes_are_recorded(self):
        person = self.create_registrant("Audited", "T-AUDIT-3")
        first = self.create_account(partner=person, acc_number="1")
        second = self.create_account(partner=person, acc_number="2")
        before = self._messages(person)
        second.write(
            {
                "g2p_account_type": "mobile_wallet",
                "g2p_wallet_provider": "M-Pesa",
                "g2p_phone": "+254700000009",
            }
        )
        second.g2p_is_primary = True
        new = self._messages(person) - before
        changes = [self._changes(message) for message in new]
        wallet_change = next(c for c in changes if "g2p_account_type" in c)
        self.assertEqual(
            wallet_change["g2p_account_type"], ("Bank account", "Mobile wallet")
        )
        self.assertEqual(wallet_change["acc_number"], ("2", "+254700000009"))
        primary_changes = [
            c["g2p_is_primary"] for c in changes if "g2p_is_primary" in c
        ]
        self.assertCountEqual(primary_changes, [(True, False), (False, True)])
        self.assertFalse(first.g2p_is_primary)

    def test_removed_account_is_recorded(self):
        person = self.create_registrant("Audited", "T-AUDIT-4")
        account = self.create_account(partner=person, acc_number="4711")
        account.with_user(self.registry_admin).unlink()
        message = self._messages(person)[-1]
        self.assertIn("Bank account removed", message.body)
        self.assertIn("4711", message.body)
        self.assertEqual(message.author_id, self.registry_admin.partner_id)

    def test_no_audit_for_accounts_of_ordinary_contacts(self):
        company = self.Partner.create({"name": "Supplier", "is_company": True})
        self.create_account(partner=company, acc_number="4711")
        self.assertFalse(
            self._messages(company).filtered(lambda m: "Bank account" in m.body)
        )
