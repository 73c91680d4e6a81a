from lxml import etree

from odoo.tests import Form
from odoo.tools.safe_eval import safe_eval

from .common import G2pBankCase


class TestRegistrantForm(G2pBankCase):
    """What a registrar does in the registrant form, through its real view."""

    def _form(self, record_or_model, action="g2p_bank.res_partner_action_individual"):
        action = self.env.ref(action)
        record_or_model = record_or_model.with_context(
            **safe_eval(action.context.strip())
        )
        return Form(record_or_model, view="g2p_bank.res_partner_view_form")

    def test_register_individual_with_bank_account_and_wallet(self):
        form = self._form(self.Partner.with_user(self.registrar))
        form.name = "Form Person"
        with form.bank_ids.new() as line:
            line.acc_number = "de89 3704 0044 0532 0130 00"
            line.bank_id = self.bank_de
        with form.bank_ids.new() as line:
            line.g2p_account_type = "mobile_wallet"
            line.g2p_wallet_provider = "M-Pesa"
            line.g2p_phone = "+254 700 000 001"
        person = form.save()
        self.assertTrue(person.is_registrant)
        self.assertFalse(person.is_group)
        self.assertTrue(person.g2p_functional_id)
        self.assertEqual(
            person.bank_ids.mapped("g2p_financial_address"),
            ["DE89370400440532013000@COBADEHH", "+254700000001@m-pesa"],
        )
        self.assertEqual(
            person.g2p_primary_bank_account_id.acc_number, "DE89370400440532013000"
        )

    def test_register_group_with_head(self):
        alice = self.create_registrant("Alice")
        form = self._form(self.Partner, "g2p_bank.res_partner_action_group")
        form.name = "Form Household"
        with form.group_member_ids.new() as member:
            member.individual_id = alice
            member.is_head = True
        group = form.save()
        self.assertTrue(group.is_group and group.is_registrant)
        self.assertEqual(group.group_head_id, alice)

    def test_bank_accounts_read_only_for_archived_registrant(self):
        self.create_account(acc_number="4711")
        form = self._form(self.person)
        with form.bank_ids.new() as line:
            line.acc_number = "4712"
        form.save()
        self.person.action_archive()
        form = self._form(self.person)
        with self.assertRaisesRegex(AssertionError, "bank_ids"):
            form.bank_ids.new()

    def test_registrars_see_no_trash_icon_on_accounts(self):
        """Registrars cannot delete accounts: the form offers them no trash icon
        (they close accounts instead); registry administrators have it."""

        def can_delete(user):
            view = self.env.ref("g2p_bank.res_partner_view_form")
            arch = self.Partner.with_user(user).get_views([(view.id, "form")])
            tree = etree.fromstring(arch["views"]["form"]["arch"])
            [accounts] = tree.xpath("//field[@name='bank_ids']")
            [accounts_list] = accounts.xpath("list")
            options = safe_eval(accounts.get("options", "{}"))
            return accounts_list.get("delete") != "False" and options.get(
                "delete", True
            )

        # Odoo gives new users "Contact Creation", which allows deleting accounts
        # as far as the model goes; the registry's rules refuse it on save.
        self.registrar.groups_id |= self.env.ref("base.group_partner_manager")
        self.assertFalse(can_delete(self.registrar))
        self.assertTrue(can_delete(self.registry_admin))
