from contextlib import contextmanager

import psycopg2.errors

from odoo import tools
from odoo.exceptions import ValidationError
from odoo.tools import mute_logger

from .common import G2pBankCase


class TestRegistrant(G2pBankCase):
    def test_functional_id_unique_with_a_clear_message(self):
        msg = "The functional ID T-PERSON-1 is already used by Test Person"
        with self.assertRaisesRegex(ValidationError, msg):
            self.create_registrant("Copycat", " T-PERSON-1 ")
        other = self.create_registrant("Other", "T-OTHER")
        with self.assertRaisesRegex(ValidationError, msg):
            other.g2p_functional_id = "T-PERSON-1"
        self.assertEqual(other.g2p_functional_id, "T-OTHER")
        with self.assertRaisesRegex(ValidationError, "T-TWICE is given twice"):
            self.Partner.create(
                [
                    {
                        "name": "A",
                        "is_registrant": True,
                        "g2p_functional_id": "T-TWICE",
                    },
                    {
                        "name": "B",
                        "is_registrant": True,
                        "g2p_functional_id": "T-TWICE",
                    },
                ]
            )

    def test_functional_id_at_most_20_characters(self):
        self.assertEqual(
            self.create_registrant("Twenty", "X" * 20).g2p_functional_id, "X" * 20
        )
        with self.assertRaisesRegex(ValidationError, "too long: at most 20"):
            self.create_registrant("Too long", "Y" * 21)

    def test_functional_id_generated_and_stripped(self):
        generated = self.Partner.with_context(default_is_registrant=True).create(
            {"name": "No ID"}
        )
        self.assertTrue(generated.g2p_functional_id.startswith("REG"))
        self.assertLessEqual(len(generated.g2p_functional_id), 20)
        self.assertEqual(
            self.create_registrant("Spaces", " ID-7 ").g2p_functional_id, "ID-7"
        )
        contact = self.Partner.create({"name": "Plain contact"})
        self.assertFalse(contact.g2p_functional_id, "contacts get no functional ID")

    def test_group_members_and_single_head(self):
        group = self.create_registrant("Household", is_group=True)
        alice, bob = self.create_registrant("Alice"), self.create_registrant("Bob")
        Membership = self.env["g2p.group.membership"]
        Membership.create(
            [
                {"group_id": group.id, "individual_id": alice.id, "is_head": True},
                {"group_id": group.id, "individual_id": bob.id},
            ]
        )
        self.assertEqual(group.group_head_id, alice)
        self.assertEqual(group.group_member_ids.individual_id, alice | bob)
        bob_membership = group.group_member_ids.filtered(
            lambda m: m.individual_id == bob
        )
        with self.assertRaisesRegex(ValidationError, "can have only one head"):
            bob_membership.is_head = True
        self.assertEqual(group.group_head_id, alice)

    def test_members_must_be_individuals(self):
        group = self.create_registrant("Household", is_group=True)
        other_group = self.create_registrant("Other household", is_group=True)
        contact = self.Partner.create({"name": "Not registered"})
        Membership = self.env["g2p.group.membership"]
        with self.assertRaisesRegex(ValidationError, "members must be registered"):
            Membership.create({"group_id": group.id, "individual_id": other_group.id})
        with self.assertRaisesRegex(ValidationError, "members must be registered"):
            Membership.create({"group_id": group.id, "individual_id": contact.id})
        with self.assertRaisesRegex(ValidationError, "is not a registered group"):
            Membership.create({"group_id": self.person.id, "individual_id": contact.id})

    def test_search_by_account_number(self):
        self.create_account(acc_number="DE89 3704 0044 0532 0130 00")
        found = self.Partner.search(
            [
                ("is_registrant", "=", True),
                ("bank_ids.acc_number", "ilike", "0532013000"),
            ]
        )
        self.assertEqual(found, self.person)

    def test_functional_id_cannot_be_cleared(self):
        person = self.person.with_user(self.registrar)
        for blank in (False, "", "   "):
            with self.assertRaisesRegex(ValidationError, "always has a functional ID"):
                person.write({"g2p_functional_id": blank})
            self.assertEqual(self.person.g2p_functional_id, "T-PERSON-1")
        # Blank on creation means "generate one", as in the form.
        blank = self.create_registrant("Blank", "   ")
        self.assertTrue(blank.g2p_functional_id.startswith("REG"))
        # A partner that is no registrant (any more) may do without.
        contact = self.Partner.create({"name": "Contact", "g2p_functional_id": "C-1"})
        contact.g2p_functional_id = False
        self.assertFalse(contact.g2p_functional_id)

    def test_functional_id_on_one_line(self):
        for fid in ("A\nB", "A\tB", "A\x00B", "A\u2028B"):
            with self.assertRaisesRegex(ValidationError, "control character"):
                self.create_registrant("Two lines", fid)
            with self.assertRaisesRegex(ValidationError, "control character"):
                self.person.g2p_functional_id = fid
        self.assertEqual(self.person.g2p_functional_id, "T-PERSON-1")

    def test_functional_id_unique_ignoring_case(self):
        msg = "The functional ID T-PERSON-1 is already used by Test Person"
        with self.assertRaisesRegex(ValidationError, msg):
            self.create_registrant("Lower", "t-person-1")
        other = self.create_registrant("Other", "T-OTHER")
        with self.assertRaisesRegex(ValidationError, msg):
            other.g2p_functional_id = "t-Person-1"
        with self.assertRaisesRegex(ValidationError, "given twice"):
            self.Partner.create(
                [
                    {"name": "A", "is_registrant": True, "g2p_functional_id": "ab-1"},
                    {"name": "B", "is_registrant": True, "g2p_functional_id": "AB-1"},
                ]
            )
        # The case given is kept (other systems address people by it) ...
        self.assertEqual(
            self.create_registrant("Mixed", "Ab-2").g2p_functional_id, "Ab-2"
        )
        # ... and the registrant may change it.
        other.g2p_functional_id = "t-other"
        self.assertEqual(other.g2p_functional_id, "t-other")

    def test_functional_id_unique_ignoring_case_in_the_database(self):
        with (
            self.assertRaises(psycopg2.errors.UniqueViolation),
            mute_logger("odoo.sql_db"),
        ):
            self.env.cr.execute(
                "UPDATE res_partner SET g2p_functional_id = 't-person-1' WHERE id = %s",
                [self.create_registrant("Other", "T-OTHER").id],
            )

    def test_upgrade_with_ids_differing_in_case_goes_on(self):
        """A database from before the rule may hold IDs differing only in case: the
        update does not fail on the unique index; it warns, and makes the index
        unique at the next update once they are renamed."""
        cr = self.env.cr
        cr.execute("DROP INDEX res_partner_g2p_functional_id_upper_uniq")
        other = self.create_registrant("Other", "T-OTHER")
        cr.execute(
            "UPDATE res_partner SET g2p_functional_id = 't-person-1' WHERE id = %s",
            [other.id],
        )
        logger = "odoo.addons.g2p_bank.models.res_partner"
        with self.assertLogs(logger, "WARNING") as logs:
            self.Partner.init()
        self.assertIn("t-person-1", logs.output[0])
        unique = "res_partner_g2p_functional_id_upper_uniq"
        self.assertFalse(tools.index_exists(cr, unique))
        cr.execute(
            "UPDATE res_partner SET g2p_functional_id = 'T-OTHER' WHERE id = %s",
            [other.id],
        )
        self.Partner.init()
        self.assertTrue(tools.index_exists(cr, unique))

    def test_registering_a_contact_gives_it_a_functional_id(self):
        contact = self.Partner.create({"name": "Contact"})
        contact.with_user(self.registrar).is_registrant = True
        self.assertTrue(contact.g2p_functional_id.startswith("REG"))
        kept = self.Partner.create({"name": "Kept", "g2p_functional_id": "K-1"})
        kept.is_registrant = True
        self.assertEqual(kept.g2p_functional_id, "K-1")

    @contextmanager
    def assertRefused(self, msg):
        """A ValidationError matching ``msg``; what was written is rolled back."""
        with self.assertRaises(ValidationError) as refusal:
            yield
        self.assertRegex(str(refusal.exception), msg)

    def _household(self):
        group = self.create_registrant("Household", is_group=True)
        alice = self.create_registrant("Alice")
        self.env["g2p.group.membership"].create(
            {"group_id": group.id, "individual_id": alice.id, "is_head": True}
        )
        return group, alice

    def test_group_with_members_stays_a_group(self):
        group, alice = self._household()
        group = group.with_user(self.registrar)
        with self.assertRefused("Household has members"):
            group.write({"is_group": False})
        with self.assertRefused("Household has members"):
            group.write({"is_registrant": False})
        self.assertTrue(group.is_group and group.is_registrant)
        self.assertEqual(group.group_head_id, alice)

    def test_member_of_a_group_stays_an_individual(self):
        _group, alice = self._household()
        alice = alice.with_user(self.registrar)
        with self.assertRefused("Alice is a member of Household"):
            alice.write({"is_group": True})
        with self.assertRefused("Alice is a member of Household"):
            alice.write({"is_registrant": False})
        self.assertFalse(alice.is_group)
        # Without members or groups, the kind can change.
        self.create_registrant("Bob").is_group = True

    def test_name_search_by_functional_id(self):
        def found(name, **kwargs):
            return [pid for pid, _name in self.Partner.name_search(name, **kwargs)]

        self.assertEqual(found("T-PERSON-1"), [self.person.id])
        self.assertEqual(found("t-person-1"), [self.person.id], "case ignored")
        self.assertEqual(found("T-PERS"), [self.person.id], "a prefix is enough")
        self.assertEqual(found("PERSON-1"), [], "a prefix, not any part")
        self.assertEqual(found("T-PERSON-1", operator="not ilike"), found("", limit=0))
        # The Member picker of a group: registered individuals.
        membership_domain = (
            self.env["g2p.group.membership"]._fields["individual_id"].domain
        )
        self.assertEqual(found("T-PERSON-1", args=membership_domain), [self.person.id])
        # A wildcard typed is taken literally: still a prefix search.
        self.assertEqual(found("%PERSON-1"), [])
