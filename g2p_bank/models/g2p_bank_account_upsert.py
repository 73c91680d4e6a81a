from odoo import _, api, models
from odoo.exceptions import MissingError, ValidationError

from ..tools import account_numbers
from .g2p_bank_account_number import WALLET_TYPES


class G2pBankAccountUpsert(models.AbstractModel):
    """Upsert of a registrant's accounts by their identity, for callers that send
    the accounts of a registrant again and again (APIs, imports).

    An account given as values designates the registrant's account with the same
    IBAN, else the same account number at the same bank (at any bank when the values
    name none), else the same wallet provider and phone or email. It updates that
    account, or is added when there is none; nothing is written when nothing changed.
    """

    _name = "g2p.bank.account.upsert"
    _description = "Bank account upsert"

    @api.model
    def _normalise(self, vals):
        """``vals`` (``res.partner.bank`` values with ``g2p_account_type``) as the
        models store them, so that sending them again finds nothing to change; a
        ValidationError when they cannot designate an account."""
        vals = dict(vals)
        numbers = self.env["g2p.bank.account.number"]
        iban_given = "g2p_iban" in vals
        numbers._prepare_vals(vals, for_write=True)
        if not iban_given and vals.get("g2p_iban") is False:
            # Not "the IBAN is stale" but "not given": a derived IBAN stays.
            del vals["g2p_iban"]
        if vals["g2p_account_type"] in WALLET_TYPES:
            # A wallet's number is its phone or email (g2p_bank sets it).
            vals.pop("acc_number", None)
            if not vals.get("g2p_wallet_provider"):
                raise ValidationError(
                    _("A wallet needs its provider (e.g. the mobile money operator).")
                )
            numbers._prepare_vals(dict(vals))  # refuses a missing phone or email
        elif not (vals.get("acc_number") or vals.get("g2p_iban")):
            # An IBAN alone becomes the number of a new account (g2p_bank does it)
            # but never replaces the local number of the account it designates.
            raise ValidationError(
                _("A bank account needs an account number or an IBAN.")
            )
        return vals

    @api.model
    def _match(self, accounts, vals):
        """The account among ``accounts`` that normalised ``vals`` designate."""
        iban = vals.get("g2p_iban")
        if iban:
            match = accounts.filtered(lambda acc: acc.g2p_iban == iban)
            if match:
                return match[:1]
        acc_type = vals["g2p_account_type"]
        if acc_type not in WALLET_TYPES:
            number = account_numbers.compact(vals.get("acc_number"))
            return accounts.filtered(
                lambda acc: (
                    acc.g2p_account_type not in WALLET_TYPES
                    and number
                    and acc.sanitized_acc_number == number
                    and ("bank_id" not in vals or acc.bank_id.id == vals["bank_id"])
                )
            )[:1]
        provider = account_numbers.provider_key(vals.get("g2p_wallet_provider"))
        wallet_field = "g2p_phone" if acc_type == "mobile_wallet" else "g2p_email"
        return accounts.filtered(
            lambda acc: (
                acc.g2p_account_type == acc_type
                and account_numbers.provider_key(acc.g2p_wallet_provider) == provider
                and acc[wallet_field] == vals.get(wallet_field)
            )
        )[:1]

    @api.model
    def _changes(self, account, vals):
        """The part of ``vals`` that differs from ``account``."""
        changes = {}
        for fname, value in vals.items():
            current = account[fname]
            if account._fields[fname].type == "many2one":
                current = current.id
            if fname == "acc_number":
                same = account_numbers.compact(current) == account_numbers.compact(
                    value
                )
            else:
                same = (current or False) == (value or False)
            if not same:
                changes[fname] = value
        return changes

    @api.model
    def _upsert(self, partner, entries):
        """Apply ``entries``, ``[(normalised vals, remove)]``, to the accounts of
        ``partner``: update the designated account (bringing it back when archived)
        or add it; with ``remove``, archive it (MissingError when there is none).
        Accounts not designated are left alone. True when something was written."""
        existing = partner.with_context(active_test=False).bank_ids
        changed, to_create = False, []
        for vals, remove in entries:
            match = self._match(existing, vals)
            if remove:
                if not match:
                    raise MissingError(
                        _(
                            "%(name)s has no account %(number)s to remove.",
                            name=partner.name,
                            number=vals.get("g2p_iban")
                            or vals.get("acc_number")
                            or vals.get("g2p_phone")
                            or vals.get("g2p_email"),
                        )
                    )
                if match.active:
                    match.write({"active": False})
                    changed = True
            elif match:
                updates = self._changes(match, dict(vals, active=True))
                if updates:
                    match.write(updates)
                    changed = True
            else:
                to_create.append(dict(vals, partner_id=partner.id))
        if to_create:
            self.env["res.partner.bank"].create(to_create)
            changed = True
        return changed
