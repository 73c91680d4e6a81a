from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

PAYMENT_STATES = [
    ("issued", "Issued"),
    ("sent", "Sent"),
    ("paid", "Paid"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
#: example-bank account types of g2p_bank's account types.
ACCOUNT_TYPES = {
    "bank_account": "BANK_ACCOUNT",
    "mobile_wallet": "MOBILE_WALLET",
    "email_wallet": "EMAIL_WALLET",
}


class G2PPayment(models.Model):
    """A payment to a registrant: amount, the account snapshot taken at
    confirmation, and its outcome read from the bank's statement."""

    _name = "g2p.payment"
    _description = "Payment to a registrant"
    _order = "batch_id desc, id"

    name = fields.Char(
        string="Payment reference",
        required=True,
        readonly=True,
        copy=False,
        size=16,
        index=True,
        help="Our unique reference (at most 16 characters): the bank's idempotency "
        "key and the customer reference of the statement entries.",
    )
    batch_id = fields.Many2one(
        "g2p.payment.batch", required=True, index=True, ondelete="cascade"
    )
    registrant_id = fields.Many2one(
        "res.partner", required=True, index=True, ondelete="restrict"
    )
    functional_id = fields.Char(related="registrant_id.g2p_functional_id")
    payee_id = fields.Many2one(
        "res.partner",
        string="Paid through",
        readonly=True,
        help="The group head when a group is paid through its head.",
    )
    bank_account_id = fields.Many2one(
        "res.partner.bank", string="Account", readonly=True, ondelete="set null"
    )
    # Snapshot taken at confirmation: what the bank was told, whatever changes later.
    account_number = fields.Char(readonly=True)
    account_type = fields.Selection(
        [
            ("bank_account", "Bank account"),
            ("mobile_wallet", "Mobile wallet"),
            ("email_wallet", "Email wallet"),
        ],
        readonly=True,
    )
    bank_code = fields.Char(readonly=True, help="The bank's BIC (else bank code).")
    branch_code = fields.Char(readonly=True)
    holder_name = fields.Char(readonly=True)
    financial_address = fields.Char(readonly=True)
    wallet_provider = fields.Char(readonly=True)
    wallet_phone = fields.Char(readonly=True)
    wallet_email = fields.Char(readonly=True)
    currency_id = fields.Many2one(
        related="batch_id.currency_id", store=True, string="Currency"
    )
    amount = fields.Monetary(required=True)
    state = fields.Selection(
        PAYMENT_STATES, required=True, default="issued", readonly=True, index=True
    )
    failure_reason = fields.Char(readonly=True, index="btree_not_null")
    bank_batch_id = fields.Char(string="Bank batch", readonly=True)
    bank_reference = fields.Char(readonly=True, help="The bank's debit entry.")
    reversal_reference = fields.Char(readonly=True, help="The bank's reversal entry.")
    statement_id = fields.Many2one("g2p.payment.statement", readonly=True)
    entry_sequence = fields.Integer(readonly=True)
    value_date = fields.Date(readonly=True)
    entry_date = fields.Date(readonly=True)

    _sql_constraints = [
        ("name_uniq", "UNIQUE(name)", "Payment references are unique."),
        ("amount_positive", "CHECK(amount > 0)", "A payment amount is positive."),
    ]

    @api.model
    def _next_references(self, count):
        """``count`` payment references from the sequence, in one query."""
        sequence = (
            self.env["ir.sequence"]
            .sudo()
            .search([("code", "=", "g2p.payment")], limit=1)
        )
        if not sequence:
            raise UserError(_("The sequence of payment references is missing."))
        prefix, suffix = sequence._get_prefix_suffix()
        if sequence.implementation == "standard":
            self.env.cr.execute(
                SQL(
                    "SELECT nextval(%s) FROM generate_series(1, %s)",
                    f"ir_sequence_{sequence.id:03d}",
                    count,
                )
            )
            numbers = [row[0] for row in self.env.cr.fetchall()]
            return [
                f"{prefix}{number:0{sequence.padding}d}{suffix}" for number in numbers
            ]
        return [sequence.next_by_id() for _i in range(count)]

    @api.model_create_multi
    def create(self, vals_list):
        missing = [vals for vals in vals_list if not vals.get("name")]
        for vals, reference in zip(
            missing, self._next_references(len(missing)), strict=True
        ):
            vals["name"] = reference
        batches = self.env["g2p.payment.batch"].browse(
            {vals["batch_id"] for vals in vals_list if vals.get("batch_id")}
        )
        batches._check_draft(_("add payments"))
        return super().create(vals_list)

    def write(self, vals):
        if vals.keys() & {"amount", "registrant_id", "batch_id"}:
            self.batch_id._check_draft(_("change payments"))
        return super().write(vals)

    def unlink(self):
        self.batch_id._check_draft(_("remove payments"))
        return super().unlink()
