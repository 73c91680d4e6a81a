from odoo import fields, models

ERROR_REASONS = [
    ("unknown_reference", "Unknown reference"),
    ("duplicate", "Duplicate entry"),
    ("reversal_without_payment", "Reversal without payment"),
    ("amount_mismatch", "Amount mismatch"),
    ("other_account", "Statement of another account"),
    ("other_currency", "Statement in another currency"),
    ("not_sent", "Payment not sent"),
]


class G2PPaymentReconciliationError(models.Model):
    """A statement entry that could not be matched to a payment as it is."""

    _name = "g2p.payment.reconciliation.error"
    _description = "Reconciliation error"
    _order = "statement_id desc, entry_sequence"

    statement_id = fields.Many2one(
        "g2p.payment.statement", required=True, index=True, ondelete="cascade"
    )
    entry_sequence = fields.Integer(help="Position of the entry in the statement.")
    batch_id = fields.Many2one("g2p.payment.batch", index=True, ondelete="set null")
    payment_id = fields.Many2one("g2p.payment", ondelete="set null")
    customer_reference = fields.Char(string="Payment reference")
    bank_reference = fields.Char()
    mark = fields.Char(help="D payment, RD reversal.")
    currency_id = fields.Many2one("res.currency")
    amount = fields.Monetary()
    expected_amount = fields.Monetary()
    reason = fields.Selection(ERROR_REASONS, required=True, index=True)
    detail = fields.Char()
