import re
from contextlib import contextmanager

from odoo.exceptions import ValidationError

from .common import G2pBankCase

IBAN = "DE89370400440532013000"  # Commerzbank (COBADE..), account 0532013000


class TestAccountChecks(G2pBankCase):
    """Accounts that would pay the wrong place, or nobody, are refused."""

    @contextmanager
    def refused(self, message):
        # The savepoint undoes what a refused call wrote, as a request's rollback.
        with self.assertRaisesRegex(ValidationError, message), self.env.cr.savepoint():
            yield

    def test_one_iban_once_per_registrant_however_typed(self):
        self.create_account(
            acc_number="532013000", g2p_bank_code="37040044", bank_id=self.bank_de.id
        )
        for vals in (
            {"acc_number": "DE89 3704 0044 0532 0130 00"},
            {"g2p_iban": IBAN},
            {"acc_number": "0532013000", "g2p_bank_code": "37040044"},
        ):
            with self.refused("already has the account"):
                self.create_account(bank_id=self.bank_de.id, **vals)
        other = self.create_account(acc_number="1", bank_id=self.bank_de.id)
        with self.refused("already has the account"):
            other.acc_number = IBAN
        self.assertEqual(len(self.person.bank_ids), 2)

    def test_wallets_on_one_phone_told_apart_by_provider(self):
        wallet = {"g2p_account_type": "mobile_wallet", "g2p_phone": "+254711000001"}
        self.create_account(g2p_wallet_provider="M-Pesa", **wallet)
        airtel = self.create_account(g2p_wallet_provider="Airtel", **wallet)
        self.assertEqual(airtel.g2p_financial_address, "+254711000001@airtel")
        with self.refused("already has the account"):
            self.create_account(g2p_wallet_provider=" m-pesa", **wallet)
        with self.refused("already has the account"):
            airtel.g2p_wallet_provider = "M-Pesa"

    def test_iban_of_another_country_or_bank_refused(self):
        with self.refused("is an account in DE, but the bank"):
            self.create_account(
                acc_number="DE75512108001245126199", bank_id=self.bank_ke.id
            )
        deutsche = self.Bank.create(
            {"name": "Test Deutsche", "bic": "DEUTDEHH", "country": self.germany.id}
        )
        with self.refused("with the BIC COBADEFFXXX, not"):
            self.create_account(acc_number=IBAN, bank_id=deutsche.id)
        account = self.create_account(acc_number=IBAN, bank_id=self.bank_de.id)
        with self.refused("not of Test Deutsche"):
            account.bank_id = deutsche
        self.assertEqual(account.bank_id, self.bank_de)

    def test_bic_of_another_country_refused(self):
        with self.refused("bank in DE, but the bank"):
            self.Bank.create(
                {"name": "Wrong", "bic": "DEUTDEBB", "country": self.kenya.id}
            )
        with self.refused("bank in KE, but the bank"):
            self.bank_ke.country = self.germany

    def test_number_and_iban_must_agree(self):
        with self.refused("12345 is not the account of"):
            self.create_account(
                acc_number="12345", g2p_iban=IBAN, bank_id=self.bank_de.id
            )
        account = self.create_account(
            acc_number="0532013000", g2p_iban=IBAN, bank_id=self.bank_de.id
        )
        self.assertEqual(account.g2p_financial_address, f"{IBAN}@COBADEHH")

    def test_meaningless_numbers_refused(self):
        with self.refused("!!! is not valid"):
            self.create_account(acc_number="!!!")
        account = self.create_account(acc_number="4711")
        with self.refused("needs an account number"):
            account.acc_number = "  "
        self.assertEqual(account.acc_number, "4711")
        with self.refused("needs a wallet provider"):
            self.create_account(
                g2p_account_type="mobile_wallet",
                g2p_wallet_provider="   ",
                g2p_phone="+254711000002",
            )

    def test_phone_in_international_format(self):
        for phone in ("1-800-CALL", "+1", "0711 000 999", "abc"):
            with self.refused(f"The phone number {re.escape(phone)} is not valid"):
                self.create_account(
                    g2p_account_type="mobile_wallet",
                    g2p_wallet_provider="M-Pesa",
                    g2p_phone=phone,
                )

    def test_blank_iban_clears_it(self):
        account = self.create_account(
            acc_number="532013000", g2p_iban=IBAN, bank_id=self.bank_de.id
        )
        account.g2p_iban = "   "
        self.assertFalse(account.g2p_iban)

    def test_bank_named_like_another_refused_in_words(self):
        self.Bank.create({"name": "Village Bank"})
        with self.refused("A bank named Village Bank"):
            self.Bank.create({"name": " village  BANK "})
