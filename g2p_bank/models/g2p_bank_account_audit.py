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
        "partner_id",
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
        """Values of the tracked fields, to compare with after a write (of every
        account: one moved to a registrant from a contact is audited too)."""
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
            if not trackings:
                continue
            # An account moved to another registrant is reported on both sides.
            for partner in (old_values["partner_id"] | acc.partner_id).filtered(
                "is_registrant"
            ):
                self._post(
                    partner,
                    _("Bank account %(account)s changed.", account=acc.display_name),
                    trackings,
                )

    @api.model
    def _log_bic_change(self, accounts, old_addresses):
        """A bank's new BIC changes the financial address of its accounts: say so
        on each registrant, old and new address."""
        col_info = accounts.fields_get(["g2p_financial_address"], attributes=["type"])
        Tracking = self.env["mail.tracking.value"]
        for acc in self._registrant_accounts(accounts):
            old = old_addresses.get(acc.id)
            if old == acc.g2p_financial_address:
                continue
            tracking = Tracking._create_tracking_values(
                old,
                acc.g2p_financial_address,
                "g2p_financial_address",
                col_info["g2p_financial_address"],
                acc,
            )
            self._post(
                acc.partner_id,
                _(
                    "The BIC of the bank %(bank)s changed: the financial address of "
                    "the account %(account)s changed with it.",
                    bank=acc.bank_id.name,
                    account=acc.display_name,
                ),
                [tracking],
            )

    @api.model
    def _post(self, partner, text, trackings):
        messages = partner._message_log(
            body=Markup("<p>%s</p>") % text,
            tracking_value_ids=[Command.create(vals) for vals in trackings],
        )
        self._mark(messages)

    @api.model
    def _mark(self, messages):
        """Give the audit subtype to ``messages`` (as logged: sudo), which
        mail.message then protects from changes."""
        messages.write({"subtype_id": self.env.ref("g2p_bank.mt_g2p_account_audit").id})

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
            messages = partners._message_log_batch(
                {
                    pid: Markup("<p>%s</p><ul>%s</ul>") % (title, items)
                    for pid, items in bodies.items()
                }
            )
            self._mark(messages)

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
