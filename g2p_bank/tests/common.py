from odoo.tests import TransactionCase, new_test_user


class G2pBankCase(TransactionCase):
    """Registrants, banks and users that the tests build on (no demo data)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Partner = cls.env["res.partner"]
        cls.Account = cls.env["res.partner.bank"]
        cls.Bank = cls.env["res.bank"]
        cls.germany = cls.env.ref("base.de")
        cls.kenya = cls.env.ref("base.ke")
        cls.bank_de = cls.Bank.create(
            {"name": "Test Bank Germany", "bic": "COBADEHH", "country": cls.germany.id}
        )
        cls.bank_ke = cls.Bank.create(
            {"name": "Test Bank Kenya", "bic": "TESTKENA", "country": cls.kenya.id}
        )
        cls.registrar = new_test_user(
            cls.env,
            login="t_registrar",
            groups="base.group_user,g2p_bank.group_registrar",
        )
        cls.registry_admin = new_test_user(
            cls.env,
            login="t_registry_admin",
            groups="base.group_user,g2p_bank.group_registry_admin",
        )
        cls.person = cls.create_registrant("Test Person", "T-PERSON-1")

    @classmethod
    def create_registrant(cls, name, functional_id=None, is_group=False, **vals):
        return cls.Partner.create(
            {
                "name": name,
                "is_registrant": True,
                "is_group": is_group,
                "g2p_functional_id": functional_id,
                **vals,
            }
        )

    @classmethod
    def create_account(cls, partner=None, **vals):
        return cls.Account.create({"partner_id": (partner or cls.person).id, **vals})
