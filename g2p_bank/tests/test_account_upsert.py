from odoo.exceptions import MissingError, ValidationError
from odoo.tests import tagged

from .common import G2pBankCase

IBAN = "DE89370400440532013000"


@tagged("post_install", "-at_install")
class TestAccountUpsert(G2pBankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Upsert = cls.env["g2p.bank.account.upsert"]
        cls.iban_account = cls.create_account(acc_number=IBAN, bank_id=cls.bank_de.id)
        cls.local_account = cls.create_account(
            acc_number="777-001", bank_id=cls.bank_ke.id
        )
        cls.wallet = cls.create_account(
            g2p_account_type="mobile_wallet",
            g2p_wallet_provider="M-Pesa",
            g2p_phone="+254711000001",
        )

    def normalised(self, **vals):
        return self.Upsert._normalise({"g2p_account_type": "bank_account", **vals})

    def match(self, **vals):
        return self.Upsert._match(self.person.bank_ids, self.normalised(**vals))

    def test_normalise_like_the_models_store(self):
        self.assertEqual(
            self.normalised(g2p_iban="de89 3704 0044 0532 0130 00")["g2p_iban"], IBAN
        )
        wallet = self.normalised(
            g2p_account_type="mobile_wallet",
            g2p_wallet_provider="M-Pesa",
            g2p_phone="+254 711-000 001",
            acc_number="ignored",
        )
        self.assertEqual(wallet["g2p_phone"], "+254711000001")
        self.assertNotIn("acc_number", wallet)
        self.assertNotIn("g2p_iban", self.normalised(acc_number="12345"))

    def test_normalise_refuses_what_designates_no_account(self):
        cases = {
            "no number": {},
            "wallet without provider": {
                "g2p_account_type": "mobile_wallet",
                "g2p_phone": "+254711000001",
            },
            "wallet without phone": {
                "g2p_account_type": "mobile_wallet",
                "g2p_wallet_provider": "M-Pesa",
            },
            "invalid IBAN": {"g2p_iban": "DE00370400440532013000"},
        }
        for case, vals in cases.items():
            with self.subTest(case), self.assertRaises(ValidationError):
                self.normalised(**vals)

    def test_matching_rules(self):
        self.assertEqual(self.match(g2p_iban=IBAN), self.iban_account)
        self.assertEqual(self.match(acc_number=IBAN), self.iban_account)
        self.assertEqual(
            self.match(acc_number="777 001", bank_id=self.bank_ke.id),
            self.local_account,
        )
        self.assertEqual(self.match(acc_number="777001"), self.local_account)
        self.assertFalse(self.match(acc_number="777-001", bank_id=self.bank_de.id))
        wallet = {"g2p_account_type": "mobile_wallet", "g2p_phone": "+254711000001"}
        self.assertEqual(
            self.match(g2p_wallet_provider="m-pesa ", **wallet), self.wallet
        )
        self.assertFalse(self.match(g2p_wallet_provider="Airtel", **wallet))

    def test_upsert_writes_only_what_differs(self):
        entries = [(self.normalised(g2p_iban=IBAN, bank_id=self.bank_de.id), False)]
        self.assertFalse(self.Upsert._upsert(self.person, entries))
        entries = [(self.normalised(g2p_iban=IBAN, g2p_state="verified"), False)]
        self.assertTrue(self.Upsert._upsert(self.person, entries))
        self.assertEqual(self.iban_account.g2p_state, "verified")
        self.assertEqual(len(self.person.bank_ids), 3)

    def test_upsert_adds_removes_and_brings_back(self):
        new = self.normalised(acc_number="999-1")
        self.assertTrue(self.Upsert._upsert(self.person, [(new, False)]))
        self.assertEqual(len(self.person.bank_ids), 4)
        self.assertTrue(self.Upsert._upsert(self.person, [(new, True)]))
        account = self.person.with_context(active_test=False).bank_ids.filtered(
            lambda acc: acc.acc_number == "999-1"
        )
        self.assertFalse(account.active)
        self.assertFalse(self.Upsert._upsert(self.person, [(new, True)]))
        self.assertTrue(self.Upsert._upsert(self.person, [(new, False)]))
        self.assertTrue(account.active)
        with self.assertRaisesRegex(MissingError, "no account 555"):
            self.Upsert._upsert(
                self.person, [(self.normalised(acc_number="555"), True)]
            )
