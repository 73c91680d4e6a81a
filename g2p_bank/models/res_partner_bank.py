from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools import account_numbers
from .g2p_bank_account_number import EMAIL_RE, WALLET_TYPES

# Keys of a write that can change the account number, the IBAN or the duplicate check.
NUMBER_KEYS = {
    "acc_number",
    "g2p_iban",
    "g2p_phone",
    "g2p_email",
    "g2p_account_type",
    "g2p_wallet_provider",
}
IBAN_KEYS = {"acc_number", "g2p_bank_code", "bank_id", "partner_id", "g2p_account_type"}


class ResPartnerBank(models.Model):
    _inherit = "res.partner.bank"

    g2p_account_type = fields.Selection(
        [
            ("bank_account", "Bank account"),
            ("mobile_wallet", "Mobile wallet"),
            ("email_wallet", "Email wallet"),
        ],
        string="Account type",
        required=True,
        default="bank_account",
    )
    g2p_bank_code = fields.Char(
        string="Bank code",
        help="National bank code (e.g. the German BLZ): with the account number and "
        "the bank's country it gives the IBAN in countries that use IBANs.",
    )
    g2p_branch_code = fields.Char(string="Branch code")
    g2p_iban = fields.Char(
        string="IBAN",
        copy=False,
        help="Validated IBAN in compact form. Given, typed as the account number, or "
        "derived from the country, bank code and account number.",
    )
    g2p_wallet_provider = fields.Char(string="Wallet provider")
    g2p_phone = fields.Char(string="Wallet phone")
    g2p_email = fields.Char(string="Wallet email")
    g2p_holder_name = fields.Char(
        related="acc_holder_name", readonly=False, string="Holder name"
    )
    g2p_is_primary = fields.Boolean(string="Primary", copy=False)
    g2p_state = fields.Selection(
        [("unverified", "Unverified"), ("verified", "Verified"), ("closed", "Closed")],
        string="Status",
        required=True,
        default="unverified",
        copy=False,
    )
    g2p_financial_address = fields.Char(
        string="Financial address",
        compute="_compute_g2p_financial_address",
        store=True,
        index=True,
        help="How payment systems address this account: <account>@<BIC> for bank "
        "accounts, <phone>@<provider> or <email>@<provider> for wallets.",
    )

    # Odoo's unique(sanitized_acc_number, partner_id) would refuse an Airtel wallet
    # on the phone of the registrant's M-Pesa wallet: the index made in init()
    # replaces it, telling wallets apart by provider (the upsert's identity).
    _sql_constraints = [
        (
            "unique_number",
            "",
            "This registrant already has this account number (with this provider).",
        ),
    ]

    @api.depends(
        "g2p_account_type",
        "g2p_iban",
        "sanitized_acc_number",
        "bank_id.bic",
        "g2p_wallet_provider",
        "g2p_phone",
        "g2p_email",
    )
    def _compute_g2p_financial_address(self):
        for acc in self:
            provider = account_numbers.provider_key(acc.g2p_wallet_provider)
            if acc.g2p_account_type == "mobile_wallet":
                address = f"{acc.g2p_phone}@{provider}"
            elif acc.g2p_account_type == "email_wallet":
                address = f"{acc.g2p_email}@{provider}"
            else:
                number = acc.g2p_iban or acc.sanitized_acc_number
                address = f"{number}@{acc.bank_id.bic}" if acc.bank_id.bic else number
            acc.g2p_financial_address = address

    @api.constrains("g2p_account_type", "g2p_wallet_provider", "g2p_phone", "g2p_email")
    def _check_g2p_wallet(self):
        rules = self.env["g2p.bank.account.number"]
        for acc in self.filtered(lambda a: a.g2p_account_type in WALLET_TYPES):
            if not (acc.g2p_wallet_provider or "").strip():
                raise ValidationError(
                    _(
                        "The wallet %(number)s needs a wallet provider (e.g. the "
                        "mobile money operator).",
                        number=acc.acc_number,
                    )
                )
            if acc.g2p_account_type == "mobile_wallet" and not acc.g2p_phone:
                raise rules._wallet_error(acc.g2p_account_type)
            if acc.g2p_account_type == "email_wallet" and not EMAIL_RE.match(
                acc.g2p_email or ""
            ):
                raise rules._wallet_error(acc.g2p_account_type)

    @api.constrains("g2p_is_primary", "g2p_state")
    def _check_g2p_closed_not_primary(self):
        closed = self.filtered(lambda a: a.g2p_is_primary and a.g2p_state == "closed")
        if closed:
            raise closed._g2p_closed_primary_error()

    @api.constrains("g2p_iban", "bank_id", "acc_number", "g2p_account_type")
    def _check_g2p_iban_matches(self):
        # Payments go to coalesce(IBAN, number) at the bank's BIC: an IBAN of
        # another bank, or a number that is not the IBAN's, pays a wrong account.
        for acc in self.filtered(
            lambda a: a.g2p_iban and a.g2p_account_type == "bank_account"
        ):
            acc._g2p_check_iban_bank()
            number = account_numbers.compact(acc.acc_number)
            if number != acc.g2p_iban and number.lstrip(
                "0"
            ) not in account_numbers.iban_account_codes(acc.g2p_iban):
                raise ValidationError(
                    _(
                        "The account number %(number)s is not the account of the "
                        "IBAN %(iban)s: correct one of them, or type the IBAN as "
                        "the account number.",
                        number=acc.acc_number,
                        iban=acc.g2p_iban,
                    )
                )

    def _g2p_check_iban_bank(self):
        bank = self.bank_id
        if not bank:
            return
        iban_country = self.g2p_iban[:2]
        bank_country = bank.country.code or (bank.bic or "")[4:6]
        if bank_country and bank_country != iban_country:
            raise ValidationError(
                _(
                    "The IBAN %(iban)s is an account in %(iban_country)s, but the "
                    "bank %(bank)s is in %(bank_country)s: choose the IBAN's bank.",
                    iban=self.g2p_iban,
                    iban_country=iban_country,
                    bank=bank.name,
                    bank_country=bank_country,
                )
            )
        iban_bic = account_numbers.iban_bic(self.g2p_iban)
        # Institution and country (letters 1-6): a bank's branches share them.
        if bank.bic and iban_bic and iban_bic[:6] != bank.bic[:6]:
            raise ValidationError(
                _(
                    "The IBAN %(iban)s is an account of the bank with the BIC "
                    "%(iban_bic)s, not of %(bank)s (%(bic)s): choose the IBAN's bank.",
                    iban=self.g2p_iban,
                    iban_bic=iban_bic,
                    bank=bank.name,
                    bic=bank.bic,
                )
            )

    def init(self):
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS res_partner_bank_unique_number "
                "ON res_partner_bank (sanitized_acc_number, partner_id, (CASE WHEN "
                "g2p_account_type IN ('mobile_wallet', 'email_wallet') THEN "
                "lower(regexp_replace(coalesce(g2p_wallet_provider, ''), '\\s', '', "
                "'g')) ELSE '' END))"
            )
        )
        # The last line of defence for "one active primary account per registrant",
        # whatever path (bulk write, concurrent request) sets the flag.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS res_partner_bank_g2p_one_primary "
                "ON res_partner_bank (partner_id) WHERE g2p_is_primary AND active"
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        rules = self.env["g2p.bank.account.number"]
        for vals in vals_list:
            rules._prepare_vals(vals)
        rules._check_duplicates(
            [
                (
                    vals.get("partner_id"),
                    vals.get("acc_number"),
                    self._g2p_provider(vals),
                )
                for vals in vals_list
            ]
        )
        self.env["g2p.bank.account.primary"]._prepare_create(vals_list)
        accounts = super().create(vals_list)
        for acc, updates in accounts._g2p_number_updates(derive=True):
            # The parent's write: the values are valid and the audit reports them.
            super(ResPartnerBank, acc).write(updates)
        rules._check_same_iban(accounts)
        self.env["g2p.bank.account.audit"]._log_added(accounts)
        return accounts

    def write(self, vals):
        moved = self
        if "partner_id" in vals:
            moved = self.filtered(lambda acc: acc.partner_id.id != vals["partner_id"])
            if moved and moved != self:
                # Only the moved accounts lose their flag: write them apart.
                return moved.write(vals) and (self - moved).write(vals)
        vals = dict(vals)
        rules = self.env["g2p.bank.account.number"]
        rules._prepare_vals(vals, for_write=True)
        if vals.get("g2p_state") == "closed" or vals.get("active") is False:
            vals.setdefault("g2p_is_primary", False)
        if "partner_id" in vals and moved:
            # A moved account does not take its primary flag to its new holder (the
            # same holder written again, as by a data import, keeps it).
            vals.setdefault("g2p_is_primary", False)
        if NUMBER_KEYS & vals.keys() or "partner_id" in vals:
            rules._check_duplicates(
                [
                    (
                        vals.get("partner_id", acc.partner_id.id),
                        acc._g2p_number(vals),
                        acc._g2p_provider(vals),
                    )
                    for acc in self
                ],
                exclude=self,
            )
        if vals.get("g2p_is_primary"):
            self.env["g2p.bank.account.primary"]._prepare_write(self, vals)
        audit = self.env["g2p.bank.account.audit"]
        before = audit._snapshot(self)
        result = super().write(vals)
        if (NUMBER_KEYS | IBAN_KEYS) & vals.keys():
            derive = bool(IBAN_KEYS & vals.keys())
            for acc, updates in self._g2p_number_updates(derive=derive):
                super(ResPartnerBank, acc).write(updates)
            rules._check_same_iban(self)
        audit._log_changes(self, before)
        return result

    def unlink(self):
        self.env["g2p.bank.account.audit"]._log_removed(self)
        return super().unlink()

    def _g2p_closed_primary_error(self):
        return ValidationError(
            _(
                "The account %(number)s is closed and cannot be the primary "
                "account: choose an open account as primary.",
                number=self[:1].acc_number,
            )
        )

    def _g2p_number(self, vals):
        """The account number this account will have once ``vals`` is written."""
        self.ensure_one()
        acc_type = vals.get("g2p_account_type", self.g2p_account_type)
        if acc_type == "mobile_wallet":
            return vals.get("g2p_phone", self.g2p_phone)
        if acc_type == "email_wallet":
            return vals.get("g2p_email", self.g2p_email)
        return vals.get("acc_number", self.acc_number)

    def _g2p_provider(self, vals):
        """The wallet provider once ``vals`` is written; None for bank accounts."""
        acc_type = vals.get("g2p_account_type") or (
            self.g2p_account_type
            if self
            else self.env.context.get("default_g2p_account_type")
        )
        if acc_type not in WALLET_TYPES:
            return None
        return vals.get("g2p_wallet_provider", self.g2p_wallet_provider)

    def _g2p_number_updates(self, derive=True):
        """``[(account, values)]`` that keep wallet numbers equal to their phone or
        email, and fill the IBAN of bank accounts typed as IBANs or derivable from
        country + bank code + account number."""
        result = []
        for acc in self:
            updates = {}
            if acc.g2p_account_type in WALLET_TYPES:
                number = acc._g2p_number({})
                if number and number != acc.acc_number:
                    updates["acc_number"] = number
            elif account_numbers.looks_like_iban(acc.acc_number):
                if acc.g2p_iban != acc.acc_number:
                    updates["g2p_iban"] = acc.acc_number
            elif derive and acc.g2p_bank_code and acc.acc_number:
                iban = acc._g2p_derived_iban()
                if iban and iban != acc.g2p_iban:
                    updates["g2p_iban"] = iban
            if updates:
                result.append((acc, updates))
        return result

    def _g2p_derived_iban(self):
        """The IBAN from the bank's (else the holder's) country, or False when that
        country does not use IBANs."""
        self.ensure_one()
        country = self.bank_id.country.code or self.partner_id.country_id.code
        return self.env["g2p.bank.account.number"]._derive_iban(
            country, self.g2p_bank_code, self.acc_number
        )
