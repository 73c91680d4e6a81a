from odoo import fields, models

EXCLUSION_REASONS = [
    ("no_account", "No usable primary account"),
    ("currency", "Account in another currency"),
    ("not_registrant", "Not a registrant"),
    ("inactive", "Registrant archived"),
    ("duplicate", "Already in the batch"),
    ("refused_details", "Details the bank refuses"),
]


class G2PPaymentExclusion(models.Model):
    """A registrant that was asked for but could not be paid in a batch: listed with
    the reason, never dropped silently."""

    _name = "g2p.payment.exclusion"
    _description = "Registrant excluded from a payment batch"
    _order = "batch_id desc, id"

    batch_id = fields.Many2one(
        "g2p.payment.batch", required=True, index=True, ondelete="cascade"
    )
    registrant_id = fields.Many2one("res.partner", index=True, ondelete="cascade")
    functional_id = fields.Char(readonly=True)
    reason = fields.Selection(EXCLUSION_REASONS, required=True)
    detail = fields.Char()
