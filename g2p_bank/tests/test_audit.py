from odoo.exceptions import UserError

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


class TestAuditProtected(G2pBankCase):
    """The audit entries are evidence: nobody but the superuser alters them."""

    def _audit_messages(self, partner):
        return self.env["mail.message"].search(
            [
                ("model", "=", "res.partner"),
                ("res_id", "=", partner.id),
                ("subtype_id", "=", self.env.ref("g2p_bank.mt_g2p_account_audit").id),
            ],
            order="id",
        )

    def test_registrar_cannot_alter_or_delete_audit_entries(self):
        person = self.create_registrant("Protected", "T-AUDIT-P1")
        account = self.create_account(partner=person, acc_number="4711")
        account.with_user(self.registry_admin).acc_number = "4712"
        entries = self._audit_messages(person)
        self.assertEqual(len(entries), 2, "added, then changed")
        as_registrar = entries.with_user(self.registrar)
        for attempt in (
            lambda: as_registrar.write({"body": "tampered"}),
            as_registrar.unlink,
        ):
            with self.assertRaisesRegex(UserError, "cannot be changed or deleted"):
                attempt()
        self.assertEqual(len(self._audit_messages(person)), 2)
        self.assertNotIn("tampered", entries[0].body)
        # Odoo deletes the chatter of a deleted registrant as superuser.
        entries.sudo().unlink()

    def test_registrar_still_edits_own_notes(self):
        person = self.create_registrant("Noted", "T-AUDIT-P2")
        note = person.with_user(self.registrar).message_post(
            body="first", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        note.with_user(self.registrar).write({"body": "second"})
        self.assertIn("second", note.body)

    def test_moved_account_is_recorded_on_both_registrants(self):
        giver = self.create_registrant("Giver", "T-AUDIT-M1")
        taker = self.create_registrant("Taker", "T-AUDIT-M2")
        account = self.create_account(partner=giver, acc_number="4711")
        account.with_user(self.registrar).partner_id = taker
        for partner in (giver, taker):
            changes = self._changes(self._audit_messages(partner)[-1])
            self.assertEqual(changes["partner_id"], ("Giver", "Taker"), partner.name)

    def test_bic_change_is_recorded_on_each_account_holder(self):
        bank = self.Bank.create({"name": "Renamed BIC Bank", "bic": "RNMDKENA"})
        holders = [
            self.create_registrant(f"Holder {i}", f"T-AUDIT-B{i}") for i in (1, 2)
        ]
        for holder in holders:
            self.create_account(partner=holder, acc_number="4711", bank_id=bank.id)
        bank.with_user(self.registrar).bic = "RNMDKENB"
        for holder in holders:
            message = self._audit_messages(holder)[-1]
            self.assertIn("The BIC of the bank Renamed BIC Bank changed", message.body)
            self.assertEqual(
                self._changes(message)["g2p_financial_address"],
                ("4711@RNMDKENA", "4711@RNMDKENB"),
            )

    _changes = TestAuditTrail._changes
