import re
from collections import Counter

from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..tools import account_numbers

WALLET_TYPES = ("mobile_wallet", "email_wallet")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class G2pBankAccountNumber(models.AbstractModel):
    """The account-number rules of ``res.partner.bank``: normalising what was typed,
    IBAN validation and derivation, and one account number per registrant."""

    _name = "g2p.bank.account.number"
    _description = "Bank account number rules"

    @api.model
    def _prepare_vals(self, vals, for_write=False):
        """Normalise what was typed and validate IBANs before anything is written."""
        if "g2p_iban" in vals:
            # A blank IBAN clears the field rather than being an invalid IBAN.
            iban = (vals["g2p_iban"] or "").strip()
            vals["g2p_iban"] = self._normalise_iban(iban) if iban else False
        if "acc_number" in vals:
            vals["acc_number"] = self._clean_number(vals["acc_number"])
        number = vals.get("acc_number")
        if number and account_numbers.looks_like_iban(number):
            vals["acc_number"] = self._normalise_iban(number)
            vals["g2p_iban"] = vals.get("g2p_iban") or vals["acc_number"]
        elif for_write and "acc_number" in vals and "g2p_iban" not in vals:
            vals["g2p_iban"] = False  # a new local number: the old IBAN is stale
        if "g2p_wallet_provider" in vals:
            vals["g2p_wallet_provider"] = (
                vals["g2p_wallet_provider"] or ""
            ).strip() or False
        if "g2p_phone" in vals:
            vals["g2p_phone"] = self._clean_phone(vals["g2p_phone"])
        if "g2p_email" in vals:
            vals["g2p_email"] = (vals["g2p_email"] or "").strip().lower() or False
        if for_write:
            if "acc_number" in vals and not vals["acc_number"]:
                if not vals.get("g2p_iban"):
                    raise self._number_missing_error()
                vals["acc_number"] = vals["g2p_iban"]
            return
        acc_type = vals.get("g2p_account_type") or self.env.context.get(
            "default_g2p_account_type", "bank_account"
        )
        if acc_type in WALLET_TYPES:
            # Odoo requires an account number: a wallet's is its phone or email.
            wallet_id = vals.get(
                "g2p_phone" if acc_type == "mobile_wallet" else "g2p_email"
            )
            if not wallet_id:
                raise self._wallet_error(acc_type)
            vals["acc_number"] = wallet_id
        elif not vals.get("acc_number"):
            if not vals.get("g2p_iban"):
                raise self._number_missing_error()
            vals["acc_number"] = vals["g2p_iban"]

    @api.model
    def _clean_number(self, number):
        """``number`` stripped (False when blank); an error when it has no letter
        or digit, which would leave the account without a financial address."""
        number = (number or "").strip()
        if number and not account_numbers.compact(number):
            raise ValidationError(
                _(
                    "The account number %(number)s is not valid: an account number "
                    "has letters or digits.",
                    number=number,
                )
            )
        return number or False

    @api.model
    def _clean_phone(self, phone):
        """The wallet phone without separators, in international format (the same
        wallet typed as a local number would escape the duplicate check and be
        paid through whatever country a payment system assumes)."""
        if not (phone or "").strip():
            return False
        normalised = account_numbers.normalise_phone(phone)
        if not account_numbers.is_international_phone(normalised):
            raise ValidationError(
                _(
                    "The phone number %(phone)s is not valid: give it in international "
                    "format, a + and the country code then the number, e.g. "
                    "+254 711 000 999.",
                    phone=phone,
                )
            )
        return normalised

    @api.model
    def _number_missing_error(self):
        return ValidationError(_("A bank account needs an account number or an IBAN."))

    @api.model
    def _wallet_error(self, acc_type):
        if acc_type == "mobile_wallet":
            return ValidationError(
                _("A mobile wallet needs the phone number it is registered to.")
            )
        return ValidationError(
            _("An email wallet needs a valid email address it is registered to.")
        )

    @api.model
    def _normalise_iban(self, iban):
        """The compact IBAN, or an error telling the registrar what is wrong."""
        exc_mod = account_numbers.exceptions
        try:
            return account_numbers.normalise_iban(iban)
        except account_numbers.SchwiftyException as exc:
            if isinstance(exc, exc_mod.InvalidChecksumDigits):
                reason = _(
                    "its check digits do not match the rest of the number. Please "
                    "check it for typing errors"
                )
            elif isinstance(exc, exc_mod.InvalidLength):
                reason = _("it has the wrong length for its country")
            elif isinstance(exc, exc_mod.InvalidCountryCode):
                reason = _(
                    "it must start with the code of a country that uses IBANs "
                    "(e.g. DE, FR, GB)"
                )
            else:
                reason = _(
                    "it does not have the structure of an IBAN of its country "
                    "(check the bank code and the account number)"
                )
            raise ValidationError(
                _(
                    "The IBAN %(iban)s is not valid: %(reason)s.",
                    iban=iban,
                    reason=reason,
                )
            ) from exc

    @api.model
    def _derive_iban(self, country, bank_code, number):
        """The IBAN of a national account, or False if ``country`` has no IBANs."""
        if not account_numbers.country_uses_iban(country):
            return False
        try:
            return account_numbers.generate_iban(country, bank_code, number)
        except account_numbers.SchwiftyException as exc:
            country_name = (
                self.env["res.country"].search([("code", "=", country)], limit=1).name
                or country
            )
            shape = account_numbers.bank_code_error(country, bank_code)
            if shape:
                raise ValidationError(
                    _(
                        "The bank code %(bank_code)s is not valid for %(country)s "
                        "(%(shape)s expected).",
                        bank_code=bank_code,
                        country=country_name,
                        shape=shape,
                    )
                ) from exc
            raise ValidationError(
                _(
                    "No valid IBAN can be made from the bank code %(bank_code)s and "
                    "the account number %(number)s in %(country)s: check the "
                    "account number (its length and characters).",
                    bank_code=bank_code,
                    number=number,
                    country=country_name,
                )
            ) from exc

    @api.model
    def _check_duplicates(self, items, exclude=None):
        """Refuse the same account number twice on one registrant, with a clear
        message (the unique index would only say "must be unique"). Wallets are
        told apart by their provider too, as the upsert identifies them.

        ``items``: (partner id, account number, wallet provider or None) of the
        accounts being written."""
        seen = set()
        for partner_id, number, provider in items:
            key = (
                partner_id,
                account_numbers.compact(number),
                account_numbers.provider_key(provider),
            )
            if not partner_id or not key[1]:
                continue
            if key in seen:
                raise self._duplicate_error(partner_id, number)
            seen.add(key)
        if not seen:
            return
        domain = [
            ("partner_id", "in", list({key[0] for key in seen})),
            ("sanitized_acc_number", "in", list({key[1] for key in seen})),
        ]
        if exclude:
            domain.append(("id", "not in", exclude.ids))
        # sudo: archived or unreadable accounts count too, like the unique index.
        existing = (
            self.env["res.partner.bank"]
            .sudo()
            .with_context(active_test=False)
            .search_fetch(
                domain,
                [
                    "partner_id",
                    "sanitized_acc_number",
                    "acc_number",
                    "g2p_account_type",
                    "g2p_wallet_provider",
                ],
            )
        )
        for acc in existing:
            if (
                acc.partner_id.id,
                acc.sanitized_acc_number,
                account_numbers.provider_key(acc._g2p_provider({})),
            ) in seen:
                raise self._duplicate_error(acc.partner_id.id, acc.acc_number)

    @api.model
    def _check_same_iban(self, accounts):
        """Refuse the IBAN of an account a registrant already has, however it was
        typed (IBAN, local number and bank code, with or without leading zeros)."""
        accounts = accounts.filtered("g2p_iban")
        if not accounts:
            return
        same = (
            self.env["res.partner.bank"]
            .sudo()
            .with_context(active_test=False)
            .search_fetch(
                [
                    ("partner_id", "in", accounts.partner_id.ids),
                    ("g2p_iban", "in", accounts.mapped("g2p_iban")),
                ],
                ["partner_id", "g2p_iban"],
            )
        )
        counts = Counter((acc.partner_id.id, acc.g2p_iban) for acc in same)
        for (partner_id, iban), count in counts.items():
            if count > 1:
                raise self._duplicate_error(partner_id, iban)

    @api.model
    def _duplicate_error(self, partner_id, number):
        return ValidationError(
            _(
                "%(name)s already has the account %(number)s: an account can be "
                "registered only once per registrant (look among closed and archived "
                "accounts too).",
                name=self.env["res.partner"].sudo().browse(partner_id).name,
                number=number,
            )
        )
