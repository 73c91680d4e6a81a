from markupsafe import Markup

from odoo import _, api, models
from odoo.fields import Command


class G2pBankAccountAudit(models.AbstractModel):
    """Records every change to a registrant's accounts in the registrant's chatter.

    The message author and date say who and when; tracking values (fields of
    ``res.partner.bank``) say what changed from which old value to which new value.
    """

    _name = "g2p.bank.account.audit"
    _description = "Bank account audit trail"

    TRACKED_FIELDS = (
        "acc_number",
        "g2p_iban",
        "g2p_account_type",
        "bank_id",
        "g2p_bank_code",
        "g2p_branch_code",
        "g2p_wallet_provider",
        "g2p_phone",
        "g2p_email",
        "acc_holder_name",
        "currency_id",
        "g2p_state",
        "g2p_is_primary",
        "active",
    )

    @api.model
    def _registrant_accounts(self, accounts):
        return accounts.filtered(lambda acc: acc.partner_id.is_registrant)

    @api.model
    def _snapshot(self, accounts):
        """Values of the tracked fields, to compare with after a write."""
        accounts = self._registrant_accounts(accounts)
        return {
            acc.id: {fname: acc[fname] for fname in self.TRACKED_FIELDS}
            for acc in accounts
        }

    @api.model
    def _log_changes(self, accounts, before):
        col_info = accounts.fields_get(
            self.TRACKED_FIELDS, attributes=["type", "selection"]
        )
        Tracking = self.env["mail.tracking.value"]
        for acc in accounts.filtered(lambda a: a.id in before):
            old_values = before[acc.id]
            trackings = [
                Tracking._create_tracking_values(
                    old_values[fname], acc[fname], fname, col_info[fname], acc
                )
                for fname in self.TRACKED_FIELDS
                if old_values[fname] != acc[fname]
            ]
            if trackings:
                acc.partner_id._message_log(
                    body=Markup("<p>%s</p>")
                    % _("Bank account %(account)s changed.", account=acc.display_name),
                    tracking_value_ids=[Command.create(vals) for vals in trackings],
                )

    @api.model
    def _log_added(self, accounts):
        self._log_event(accounts, _("Bank account added"))

    @api.model
    def _log_removed(self, accounts):
        self._log_event(accounts, _("Bank account removed"))

    @api.model
    def _log_event(self, accounts, title):
        """One message per registrant listing the accounts added or removed."""
        accounts = self._registrant_accounts(accounts)
        bodies = {}
        for acc in accounts:
            line = Markup("<li>%s</li>") % self._describe(acc)
            bodies[acc.partner_id.id] = bodies.get(acc.partner_id.id, Markup()) + line
        if bodies:
            partners = accounts.partner_id
            partners._message_log_batch(
                {
                    pid: Markup("<p>%s</p><ul>%s</ul>") % (title, items)
                    for pid, items in bodies.items()
                }
            )

    @api.model
    def _describe(self, acc):
        type_label = dict(
            acc._fields["g2p_account_type"]._description_selection(self.env)
        )
        state_label = dict(acc._fields["g2p_state"]._description_selection(self.env))
        return _(
            "%(type)s %(address)s, %(state)s%(primary)s",
            type=type_label.get(acc.g2p_account_type, ""),
            address=acc.g2p_financial_address or acc.acc_number,
            state=state_label.get(acc.g2p_state, ""),
            primary=_(", primary") if acc.g2p_is_primary else "",
        )
