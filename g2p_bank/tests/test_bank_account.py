from odoo.exceptions import ValidationError

from .common import G2pBankCase

VALID_DE_IBAN = "DE89370400440532013000"


class TestBankAccount(G2pBankCase):
    def test_iban_normalised_from_spaces_and_case(self):
        account = self.create_account(acc_number="de89 3704 0044 0532 0130 00")
        self.assertEqual(account.acc_number, VALID_DE_IBAN)
        self.assertEqual(account.g2p_iban, VALID_DE_IBAN)
        other = self.create_account(
            partner=self.create_registrant("Other"), g2p_iban=" de89370400440532013000 "
        )
        self.assertEqual(other.g2p_iban, VALID_DE_IBAN)
        self.assertEqual(other.acc_number, VALID_DE_IBAN, "the IBAN is the number")

    def test_iban_invalid_checksum(self):
        with self.assertRaisesRegex(ValidationError, "check digits do not match"):
            self.create_account(acc_number="DE88370400440532013000")

    def test_iban_invalid_length(self):
        with self.assertRaisesRegex(ValidationError, "wrong length for its country"):
            self.create_account(g2p_iban="DE8937040044053201300")

    def test_iban_invalid_country(self):
        with self.assertRaisesRegex(
            ValidationError, "code of a country that uses IBANs"
        ):
            self.create_account(acc_number="XX89370400440532013000")

    def test_iban_invalid_on_write_changes_nothing(self):
        account = self.create_account(acc_number=VALID_DE_IBAN)
        with self.assertRaisesRegex(ValidationError, "check digits"):
            account.write({"g2p_iban": "DE00370400440532013000"})
        self.assertEqual(account.g2p_iban, VALID_DE_IBAN)

    def test_iban_derived_from_country_bank_code_and_account(self):
        account = self.create_account(
            acc_number="532013000", g2p_bank_code="37040044", bank_id=self.bank_de.id
        )
        self.assertEqual(account.acc_number, "532013000", "local number is kept")
        self.assertEqual(account.g2p_iban, VALID_DE_IBAN)
        self.assertEqual(account.g2p_financial_address, f"{VALID_DE_IBAN}@COBADEHH")
        # A new account number gives a new IBAN.
        account.acc_number = "532013001"
        self.assertEqual(account.g2p_iban, "DE62370400440532013001")

    def test_iban_derived_from_holder_country_without_bank(self):
        holder = self.create_registrant("Holder DE", country_id=self.germany.id)
        account = self.create_account(
            partner=holder, acc_number="532013000", g2p_bank_code="37040044"
        )
        self.assertEqual(account.g2p_iban, VALID_DE_IBAN)

    def test_no_iban_where_the_country_has_none(self):
        account = self.create_account(
            acc_number="1102345671", g2p_bank_code="01", bank_id=self.bank_ke.id
        )
        self.assertFalse(account.g2p_iban)
        self.assertEqual(account.g2p_financial_address, "1102345671@TESTKENA")

    def test_iban_derivation_with_bad_bank_code(self):
        msg = r"The bank code ABCD1234 is not valid for Germany \(8 digits expected\)"
        with self.assertRaisesRegex(ValidationError, msg):
            self.create_account(
                acc_number="532013000",
                g2p_bank_code="ABCD1234",
                bank_id=self.bank_de.id,
            )

    def test_bic_normalised_and_validated(self):
        bank = self.Bank.create({"name": "BIC Test", "bic": " zyxw de ff xxx"})
        self.assertEqual(bank.bic, "ZYXWDEFF")
        bank.bic = "zyxwdeff500"
        self.assertEqual(bank.bic, "ZYXWDEFF500")
        with self.assertRaisesRegex(ValidationError, "BIC ZYXWDEFF500 is already"):
            self.Bank.create({"name": "Same BIC", "bic": "ZYXWDEFF500"})
        with self.assertRaisesRegex(ValidationError, "BIC .*DEUTDEFFX is not valid"):
            self.Bank.create({"name": "Bad", "bic": "DEUTDEFFX"})
        with self.assertRaisesRegex(ValidationError, "BIC .*is not valid"):
            self.Bank.create({"name": "Bad country", "bic": "DEUTXXFF"})

    def test_same_account_twice_on_one_registrant(self):
        self.create_account(acc_number="12-34 567", bank_id=self.bank_ke.id)
        msg = "Test Person already has the account 12-34 567: an account can be"
        with self.assertRaisesRegex(ValidationError, msg):
            self.create_account(acc_number="1234567")
        with self.assertRaisesRegex(ValidationError, "already has the account"):
            self.Account.create(
                [
                    {"partner_id": self.person.id, "acc_number": "999"},
                    {"partner_id": self.person.id, "acc_number": "9 9 9"},
                ]
            )
        # Another registrant may hold the same number (e.g. a joint account).
        other = self.create_account(
            partner=self.create_registrant("Joint holder"), acc_number="1234567"
        )
        self.assertTrue(other)

    def test_same_account_twice_on_write(self):
        self.create_account(acc_number="111")
        second = self.create_account(acc_number="222")
        with self.assertRaisesRegex(ValidationError, "already has the account"):
            second.acc_number = "1 1 1"
        self.assertEqual(second.acc_number, "222")

    def test_mobile_wallet(self):
        wallet = self.create_account(
            g2p_account_type="mobile_wallet",
            g2p_wallet_provider="M-Pesa",
            g2p_phone="+254 711-000 001",
        )
        self.assertEqual(wallet.acc_number, "+254711000001")
        self.assertEqual(wallet.g2p_financial_address, "+254711000001@m-pesa")
        wallet.g2p_phone = "+254 722 000 002"
        self.assertEqual(wallet.acc_number, "+254722000002", "number follows phone")
        self.assertEqual(wallet.g2p_financial_address, "+254722000002@m-pesa")

    def test_email_wallet(self):
        wallet = self.create_account(
            g2p_account_type="email_wallet",
            g2p_wallet_provider="PayPal",
            g2p_email=" Jane.Doe@Example.org ",
        )
        self.assertEqual(wallet.acc_number, "jane.doe@example.org")
        self.assertEqual(wallet.g2p_financial_address, "jane.doe@example.org@paypal")

    def test_wallet_validation(self):
        with self.assertRaisesRegex(ValidationError, "needs a wallet provider"):
            self.create_account(
                g2p_account_type="mobile_wallet", g2p_phone="+254711000000"
            )
        with self.assertRaisesRegex(ValidationError, "mobile wallet needs the phone"):
            self.create_account(
                g2p_account_type="mobile_wallet", g2p_wallet_provider="M-Pesa"
            )
        with self.assertRaisesRegex(
            ValidationError, "email wallet needs a valid email"
        ):
            self.create_account(
                g2p_account_type="email_wallet", g2p_wallet_provider="PayPal"
            )
        with self.assertRaisesRegex(
            ValidationError, "email wallet needs a valid email"
        ):
            self.create_account(
                g2p_account_type="email_wallet",
                g2p_wallet_provider="PayPal",
                g2p_email="not-an-email",
            )
        wallet = self.create_account(
            g2p_account_type="mobile_wallet",
            g2p_wallet_provider="M-Pesa",
            g2p_phone="+254711000001",
        )
        with self.assertRaisesRegex(ValidationError, "needs a wallet provider"):
            wallet.g2p_wallet_provider = False

    def test_bank_account_without_bic_and_holder_default(self):
        account = self.create_account(acc_number="00 12 34")
        self.assertEqual(account.g2p_financial_address, "001234")
        self.assertEqual(account.g2p_holder_name, "Test Person")
        account.g2p_holder_name = "T. Person"
        self.assertEqual(account.acc_holder_name, "T. Person")
