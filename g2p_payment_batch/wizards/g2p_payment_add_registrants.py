from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.safe_eval import safe_eval


class G2PPaymentAddRegistrants(models.TransientModel):
    """Add the registrants matching a filter to a draft batch, each with the same
    amount; those who cannot be paid are listed on the batch as exclusions."""

    _name = "g2p.payment.add.registrants"
    _description = "Add registrants to a payment batch"

    batch_id = fields.Many2one("g2p.payment.batch", required=True)
    currency_id = fields.Many2one(related="batch_id.currency_id")
    domain = fields.Char(
        string="Registrants",
        default="[('is_registrant', '=', True), ('is_group', '=', False)]",
        help="Which registrants to pay.",
    )
    amount = fields.Monetary(required=True)
    match_count = fields.Integer(compute="_compute_match_count")

    @api.depends("domain")
    def _compute_match_count(self):
        for wizard in self:
            wizard.match_count = len(wizard._registrants())

    def _registrants(self):
        domain = safe_eval(self.domain or "[]")
        return self.env["res.partner"].search(
            [("is_registrant", "=", True), *domain], order="id"
        )

    def action_add(self):
        self.ensure_one()
        if self.amount <= 0:
            raise UserError(_("The amount must be positive."))
        registrants = self._registrants()
        if not registrants:
            raise UserError(_("No registrant matches the filter."))
        amount = self.currency_id.round(self.amount)
        payments, exclusions = self.env["g2p.payment.batch.builder"]._add_payments(
            self.batch_id, [(registrant, amount) for registrant in registrants]
        )
        self.batch_id.message_post(
            body=_(
                "%(n)s registrants added with %(a)s %(c)s each; %(x)s excluded.",
                n=len(payments),
                a=amount,
                c=self.currency_id.name,
                x=len(exclusions),
            )
        )
        return self.batch_id._action_open()
