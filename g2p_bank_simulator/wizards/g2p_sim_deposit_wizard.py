from odoo import fields, models


class G2PSimDepositWizard(models.TransientModel):
    """The bank operator's *Deposit* on an account: calls the ``deposit`` service,
    whose errors (amount, account not active) are shown as they are."""

    _name = "g2p.sim.deposit.wizard"
    _description = "Simulated bank deposit"

    account_id = fields.Many2one(
        "g2p.sim.account", required=True, readonly=True, ondelete="cascade"
    )
    currency_id = fields.Many2one(related="account_id.currency_id")
    # A Float, not a Monetary: a Monetary is rounded to the currency as it is typed
    # (1.005 would be deposited as 1.00 or 1.01). The service reads the float through
    # its str(), the shortest exact decimal of what was typed, and refuses an amount
    # it cannot book, as every amount.
    amount = fields.Float(required=True)
    reference = fields.Char(
        help="Customer reference of the ledger entry (DEPOSIT if empty).",
    )

    def action_deposit(self):
        self.ensure_one()
        self.account_id.deposit(self.amount, self.reference or None)
        return {"type": "ir.actions.act_window_close"}
