from odoo import _, models
from odoo.exceptions import UserError

# Personal marks a reader may set on any message, audit entries included.
READER_FIELDS = {"starred_partner_ids"}


class MailMessage(models.Model):
    _inherit = "mail.message"

    def write(self, vals):
        if vals.keys() - READER_FIELDS:
            self._g2p_check_audit_untouched()
        return super().write(vals)

    def unlink(self):
        self._g2p_check_audit_untouched()
        return super().unlink()

    def _g2p_check_audit_untouched(self):
        """The audit trail of financial addresses is evidence: only the superuser
        (e.g. Odoo deleting a registrant's chatter with the registrant) changes it."""
        if self.env.su:
            return
        subtype = self.env.ref(
            "g2p_bank.mt_g2p_account_audit", raise_if_not_found=False
        )
        if subtype and subtype in self.sudo().subtype_id:
            raise UserError(
                _(
                    "Audit entries about registrants' bank and wallet accounts cannot "
                    "be changed or deleted."
                )
            )
