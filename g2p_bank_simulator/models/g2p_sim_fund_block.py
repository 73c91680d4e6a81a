from odoo import fields, models


class G2PSimFundBlock(models.Model):
    """Money set aside on an account for a program's payments.

    ``amount`` was moved from available to blocked. Payments consume it; a release
    returns what is neither consumed nor reserved by a batch waiting for processing. The
    database guards that nothing is consumed or reserved beyond the block.
    """

    _name = "g2p.sim.fund.block"
    _description = "Simulated bank fund block"
    _order = "id desc"
    _rec_name = "reference"

    reference = fields.Char(required=True, readonly=True)  # UNIQUE: indexed
    account_id = fields.Many2one(
        "g2p.sim.account", required=True, readonly=True, index=True, ondelete="restrict"
    )
    currency_id = fields.Many2one(related="account_id.currency_id", store=True)
    amount = fields.Monetary(required=True, readonly=True)
    amount_consumed = fields.Monetary(readonly=True, default=0)
    amount_released = fields.Monetary(readonly=True, default=0)
    amount_reserved = fields.Monetary(
        readonly=True,
        default=0,
        help="Held by payment batches that are recorded but not processed yet.",
    )
    amount_remaining = fields.Monetary(readonly=True)
    state = fields.Selection(
        [
            ("active", "Active"),
            ("consumed", "Consumed"),
            ("released", "Released"),
            ("expired", "Expired"),
        ],
        required=True,
        default="active",
        readonly=True,
    )
    expiry_date = fields.Date(readonly=True)

    _sql_constraints = [
        ("reference_uniq", "UNIQUE(reference)", "Block references are unique."),
        ("amount_positive", "CHECK(amount > 0)", "A block amount is positive."),
        (
            "remaining_consistent",
            "CHECK(amount_remaining = amount - amount_consumed - amount_released)",
            "Remaining = amount - consumed - released.",
        ),
        (
            "remaining_positive",
            "CHECK(amount_remaining >= 0)",
            "A block cannot be consumed beyond its amount.",
        ),
        (
            "reserved_within_remaining",
            "CHECK(amount_reserved >= 0 AND amount_reserved <= amount_remaining)",
            "Payment batches cannot reserve more than the block's remaining amount.",
        ),
    ]

    def action_release(self):
        bank = self.env["g2p.sim.bank"]
        for block in self:
            bank.release_block(block.reference)
        return True
