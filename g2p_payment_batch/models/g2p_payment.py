from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
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
#: What officers may set on a payment (in a draft batch). Everything else (the
#: reference, the account snapshot, the state and the outcome) is set by the batch's
#: steps only, which write it in SQL or as ``is_process`` says.
USER_FIELDS = frozenset({"batch_id", "registrant_id", "amount"})


def is_process(env):
    """Whether ``env`` writes as the batch's steps do: the context key
    ``g2p_transition`` as superuser. The key alone is not enough: a user's RPC call
    may pass any context key, but cannot become superuser."""
    return bool(env.context.get("g2p_transition")) and env.is_superuser()


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
    reissue_of_id = fields.Many2one(
        "g2p.payment",
        string="Re-issue of",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The failed payment that this one pays again.",
    )
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
        if not is_process(self.env):
            for vals in vals_list:
                self._check_user_fields(vals)
                if "amount" in vals and vals.get("batch_id"):
                    self._check_amount(vals["amount"], vals["batch_id"])
        missing = [vals for vals in vals_list if not vals.get("name")]
        for vals, reference in zip(
            missing, self._next_references(len(missing)), strict=True
        ):
            vals["name"] = reference
        batches = self.env["g2p.payment.batch"].browse(
            {vals["batch_id"] for vals in vals_list if vals.get("batch_id")}
        )
        batches._check_draft(_("add payments"))
        self._check_once_per_batch(
            [(vals.get("batch_id"), vals.get("registrant_id")) for vals in vals_list]
        )
        payments = super().create(vals_list)
        batches._refresh_totals()
        return payments

    def write(self, vals):
        if not is_process(self.env):
            self._check_user_fields(vals)
            if "amount" in vals:
                for batch_id in {vals.get("batch_id") or p.batch_id.id for p in self}:
                    self._check_amount(vals["amount"], batch_id)
        batches = self.batch_id
        if vals.keys() & USER_FIELDS:
            batches._check_draft(_("change payments"))
            if vals.get("batch_id"):
                batches.browse(vals["batch_id"])._check_draft(_("add payments"))
        if vals.keys() & {"batch_id", "registrant_id"}:
            self._check_once_per_batch(
                [
                    (
                        vals.get("batch_id", p.batch_id.id),
                        vals.get("registrant_id", p.registrant_id.id),
                    )
                    for p in self
                ]
            )
        result = super().write(vals)
        if vals.keys() & {"amount", "batch_id"}:
            (batches | self.batch_id)._refresh_totals()
        return result

    def unlink(self):
        batches = self.batch_id
        batches._check_draft(_("remove payments"))
        result = super().unlink()
        batches._refresh_totals()
        return result

    # ------------------------------------------------------------------ helpers
    def _check_user_fields(self, vals):
        """Refuse values of the fields that only the batch's steps set."""
        owned = vals.keys() - USER_FIELDS
        if owned:
            raise UserError(
                _(
                    "%(p)s: %(f)s is set by the batch's steps, not by hand.",
                    p=", ".join(self.mapped("name")) or _("A new payment"),
                    f=", ".join(sorted(owned)),
                )
            )

    def _check_amount(self, amount, batch_id):
        """Refuse an amount the batch cannot pay, as the wizards do (typed in the
        batch's payment list, it would otherwise be rounded by the field, or fail
        only at the bank)."""
        batch = self.env["g2p.payment.batch"].browse(batch_id)
        error = self.env["g2p.payment.batch.builder"]._amount_error(
            Decimal(str(amount)), batch.currency_id
        )
        if error:
            raise ValidationError(error)

    def _check_once_per_batch(self, pairs):
        """A registrant is paid at most once per batch: refuse ``pairs``
        ``(batch id, registrant id)`` about to exist when one is already in its
        batch (other than ``self``) or appears twice."""
        pairs = [(b, r) for b, r in pairs if b and r]
        if not pairs:
            return
        existing = self.search_fetch(
            [
                ("batch_id", "in", list({b for b, _r in pairs})),
                ("registrant_id", "in", list({r for _b, r in pairs})),
                ("id", "not in", self.ids),
            ],
            ["batch_id", "registrant_id"],
        )
        seen = {(p.batch_id.id, p.registrant_id.id) for p in existing}
        for pair in pairs:
            if pair in seen:
                batch = self.env["g2p.payment.batch"].browse(pair[0])
                registrant = self.env["res.partner"].browse(pair[1])
                raise ValidationError(
                    _(
                        "%(r)s (%(f)s) is already in the batch %(b)s: a registrant is "
                        "paid at most once per batch.",
                        r=registrant.display_name,
                        f=registrant.g2p_functional_id or "-",
                        b=batch.name,
                    )
                )
            seen.add(pair)
