from decimal import Decimal

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

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_amount(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_amount(vals)
        return super().write(vals)

    @api.depends("domain")
    def _compute_match_count(self):
        for wizard in self:
            wizard.match_count = len(wizard._registrants())

    def _registrants(self):
        domain = safe_eval(self.domain or "[]")
        return self.env["res.partner"].search(
            [("is_registrant", "=", True), *domain], order="id"
        )

    def _check_amount(self, vals):
        """Refuse an amount the batch cannot pay, as the CSV import does, before the
        monetary field rounds it (20.004 was paid as 20.00)."""
        if "amount" not in vals:
            return
        batch = self.env["g2p.payment.batch"].browse(
            vals.get("batch_id") or self.batch_id.id
        )
        error = self.env["g2p.payment.batch.builder"]._amount_error(
            Decimal(str(vals["amount"] or 0)), batch.currency_id
        )
        if error:
            raise UserError(error)

    def action_add(self):
        self.ensure_one()
        registrants = self._registrants()
        if not registrants:
            raise UserError(_("No registrant matches the filter."))
        amount = Decimal(str(self.amount))
        payments, exclusions = self.env["g2p.payment.batch.builder"]._add_payments(
            self.batch_id, [(registrant, amount) for registrant in registrants]
        )
        self.batch_id.message_post(
            body=_(
                "%(n)s added with %(a)s each; %(x)s excluded.",
                n=self.batch_id._payments_label(len(payments)),
                a=self.batch_id._money(amount),
                x=len(exclusions),
            )
        )
        return self.batch_id._action_open()
