from odoo import fields, models

ACCOUNT_TYPES = [
    ("BANK_ACCOUNT", "Bank account"),
    ("MOBILE_WALLET", "Mobile wallet"),
    ("EMAIL_WALLET", "Email wallet"),
]


class G2PSimPayment(models.Model):
    """A payment request of the example-bank contract, as received, with its outcome.

    Written in bulk SQL by ``g2p.sim.bank.initiate_payment`` and by the batch job;
    read-only in the UI.
    """

    _name = "g2p.sim.payment"
    _description = "Simulated bank payment request"
    _order = "id desc"
    _rec_name = "payment_reference_number"

    batch_id = fields.Many2one(
        "g2p.sim.payment.batch", required=True, index=True, ondelete="cascade"
    )
    account_id = fields.Many2one(
        "g2p.sim.account", string="Remitting account record", required=True, index=True
    )
    block_id = fields.Many2one("g2p.sim.fund.block", required=True, index=True)
    # All payments of a batch are in its currency: no column (and no foreign key
    # checked per row when 10,000 payments are inserted at once).
    currency_id = fields.Many2one(related="batch_id.currency_id")
    # Indexed by its UNIQUE constraint: a second index would only slow the inserts.
    payment_reference_number = fields.Char(required=True)
    remitting_account = fields.Char(required=True)
    remitting_account_currency = fields.Char(required=True)
    payment_amount = fields.Monetary(required=True)
    funds_blocked_reference_number = fields.Char(required=True)
    beneficiary_name = fields.Char()
    beneficiary_account = fields.Char(required=True)
    beneficiary_account_currency = fields.Char()
    beneficiary_account_type = fields.Selection(ACCOUNT_TYPES, required=True)
    beneficiary_bank_code = fields.Char()
    beneficiary_branch_code = fields.Char()
    beneficiary_mobile_wallet_provider = fields.Char()
    beneficiary_phone_no = fields.Char()
    beneficiary_email = fields.Char()
    beneficiary_email_wallet_provider = fields.Char()
    narrative_1 = fields.Char()
    narrative_2 = fields.Char()
    narrative_3 = fields.Char()
    narrative_4 = fields.Char()
    narrative_5 = fields.Char()
    narrative_6 = fields.Char()
    payment_date = fields.Char()
    status = fields.Selection(
        [("pending", "Pending"), ("success", "Success"), ("failed", "Failed")],
        required=True,
        default="pending",
        index=True,
    )
    failure_reason = fields.Char()
    bank_reference = fields.Char(help="Bank reference of the debit entry.")
    credit_account_id = fields.Many2one(
        "g2p.sim.account",
        string="Credited account",
        help="The beneficiary's account at this bank, or the clearing account.",
    )

    _sql_constraints = [
        (
            "payment_reference_number_uniq",
            "UNIQUE(payment_reference_number)",
            "A payment reference is executed at most once.",
        ),
        ("amount_positive", "CHECK(payment_amount > 0)", "A payment is positive."),
    ]
