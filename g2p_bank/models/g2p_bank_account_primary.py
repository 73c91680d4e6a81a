from collections import defaultdict

from odoo import _, api, models
from odoo.exceptions import ValidationError


class G2pBankAccountPrimary(models.AbstractModel):
    """The primary-account rules: at most one active primary account per registrant,
    the first account becomes primary, setting a new primary unsets the old one.

    A partial unique index on ``res_partner_bank`` backs the first rule.
    """

    _name = "g2p.bank.account.primary"
    _description = "Primary bank account rules"

    @api.model
    def _prepare_create(self, vals_list):
        """Decide the primary flag of accounts about to be created, unsetting the
        current primary of registrants that get a new one."""
        by_partner = defaultdict(list)
        for vals in vals_list:
            if vals.get("partner_id"):
                by_partner[vals["partner_id"]].append(vals)
        if not by_partner:
            return
        Account = self.env["res.partner.bank"]
        current = Account.search(
            [("partner_id", "in", list(by_partner)), ("g2p_is_primary", "=", True)]
        )
        has_primary = set(current.partner_id.ids)
        takes_over = set()
        for partner_id, partner_vals in by_partner.items():
            primaries = [vals for vals in partner_vals if vals.get("g2p_is_primary")]
            if len(primaries) > 1:
                raise self._too_many_error(partner_id)
            if primaries:
                takes_over.add(partner_id)
            elif partner_id not in has_primary:
                first = next(
                    (vals for vals in partner_vals if self._may_become_primary(vals)),
                    None,
                )
                if first:
                    first["g2p_is_primary"] = True
        self._release(current.filtered(lambda acc: acc.partner_id.id in takes_over))

    @api.model
    def _prepare_write(self, accounts, vals):
        """Before ``accounts`` are made primary: open, one per registrant, the old
        primary of each registrant unset."""
        closed = accounts.filtered(
            lambda acc: vals.get("g2p_state", acc.g2p_state) == "closed"
        )
        if closed:
            raise closed._g2p_closed_primary_error()
        for partner, partner_accounts in accounts.grouped("partner_id").items():
            if len(partner_accounts) > 1:
                raise self._too_many_error(partner.id)
        others = self.env["res.partner.bank"].search(
            [
                ("partner_id", "in", accounts.partner_id.ids),
                ("g2p_is_primary", "=", True),
                ("id", "not in", accounts.ids),
            ]
        )
        self._release(others)

    @api.model
    def _may_become_primary(self, vals):
        # An explicit False (forms send every field) does not stop the first open
        # account from becoming primary: a registrant with accounts needs one.
        return vals.get("g2p_state") != "closed" and vals.get("active", True)

    @api.model
    def _release(self, accounts):
        if accounts:
            accounts.write({"g2p_is_primary": False})
            # Written now, before the new primary, or the unique index would fire.
            accounts.flush_recordset(["g2p_is_primary"])

    @api.model
    def _too_many_error(self, partner_id):
        return ValidationError(
            _(
                "%(name)s can have only one primary account: mark a single account "
                "as primary.",
                name=self.env["res.partner"].sudo().browse(partner_id).name,
            )
        )
