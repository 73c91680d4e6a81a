from psycopg2.extras import execute_values

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

#: Bank references: unique, 16 characters, from a PostgreSQL sequence (no gap lock).
BANK_REFERENCE_SQL = SQL(
    "'SIM' || lpad(nextval('g2p_sim_ledger_bank_ref_seq')::text, 13, '0')"
)
#: Marks that add to the balance (credits and reversals of debits).
CREDIT_MARKS = ("C", "RD")


class G2PSimLedgerEntry(models.Model):
    """The bank's append-only ledger.

    Rows are written only by the services, in SQL, under the lock of their account;
    nobody may create, write or unlink them through the ORM. The one later change is the
    assignment of ``statement_id`` by the statement job, also in SQL.
    """

    _name = "g2p.sim.ledger.entry"
    _description = "Simulated bank ledger entry"
    _order = "id desc"
    _rec_name = "bank_reference"

    account_id = fields.Many2one(
        "g2p.sim.account", required=True, index=True, ondelete="restrict"
    )
    currency_id = fields.Many2one("res.currency", required=True)
    mark = fields.Selection(
        [
            ("C", "Credit"),
            ("D", "Debit"),
            ("RC", "Reversal of a credit"),
            ("RD", "Reversal of a debit"),
        ],
        required=True,
    )
    is_reversal = fields.Boolean(string="Reversal")
    amount = fields.Monetary(required=True)
    signed_amount = fields.Monetary(
        help="Positive for C and RD, negative for D and RC."
    )
    value_date = fields.Date(required=True)
    entry_date = fields.Date(required=True)
    customer_reference = fields.Char()
    bank_reference = fields.Char(required=True)
    block_reference = fields.Char()
    narrative = fields.Text(
        help="Narrative lines, in the order of the MT940 :86: field."
    )
    reason = fields.Char(string="Failure reason")
    payment_id = fields.Many2one(
        "g2p.sim.payment", index="btree_not_null", ondelete="restrict"
    )
    statement_id = fields.Many2one(
        "g2p.sim.statement", index="btree_not_null", ondelete="restrict"
    )

    _sql_constraints = [
        (
            "bank_reference_uniq",
            "UNIQUE(bank_reference)",
            "Bank references are unique.",
        ),
        ("amount_positive", "CHECK(amount > 0)", "A ledger amount is positive."),
        (
            "signed_amount_consistent",
            (
                "CHECK(signed_amount = CASE WHEN mark IN ('C', 'RD') "
                "THEN amount ELSE -amount END)"
            ),
            "The signed amount follows the mark.",
        ),
    ]

    def init(self):
        self.env.cr.execute(
            SQL("CREATE SEQUENCE IF NOT EXISTS g2p_sim_ledger_bank_ref_seq")
        )
        # The statement job reads unreported entries of one account in id order.
        self.env.cr.execute(
            SQL(
                """CREATE INDEX IF NOT EXISTS g2p_sim_ledger_entry_unreported_idx
                   ON g2p_sim_ledger_entry (account_id, id)
                   WHERE statement_id IS NULL"""
            )
        )

    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        # Append-only: the services insert in SQL (see _append); nobody creates here.
        raise UserError(
            self.env._("Ledger entries are written by the bank's services only.")
        )

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(
            self.env._("The ledger is append-only: entries cannot be changed.")
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._("The ledger is append-only: entries cannot be deleted.")
        )

    @api.model
    def _append(self, rows):
        """Insert ledger rows (dicts), return them; the caller holds the account locks.

        Keys: account_id, mark, amount (Decimal > 0), customer_reference and optionally
        block_reference, narrative, reason, payment_id, value_date. Runs as superuser on
        purpose: the ledger has no create right for anyone (append-only).
        """
        today = self.env["g2p.sim.bank"]._today()  # UTC, whoever writes
        uid = self.env.uid
        values = [
            (
                row["account_id"],
                row["mark"],
                row["amount"],
                row.get("customer_reference"),
                row.get("block_reference"),
                row.get("narrative"),
                row.get("reason"),
                row.get("payment_id"),
                row.get("value_date") or today,
                today,
                uid,
            )
            for row in rows
        ]
        cr = self.env.cr
        self.env.flush_all()
        query = SQL(
            """INSERT INTO g2p_sim_ledger_entry
                   (account_id, currency_id, mark, is_reversal, amount, signed_amount,
                    customer_reference, bank_reference, block_reference, narrative,
                    reason,
                    payment_id, value_date, entry_date,
                    create_uid, write_uid, create_date, write_date)
                   SELECT v.account_id, a.currency_id, v.mark, left(v.mark, 1) = 'R',
                          v.amount,
                          CASE WHEN v.mark IN ('C', 'RD') THEN v.amount
                               ELSE -v.amount END,
                          v.cref, %s, v.bref, v.narrative, v.reason, v.payment_id,
                          v.value_date, v.entry_date,
                          v.uid, v.uid, now() at time zone 'UTC',
                          now() at time zone 'UTC'
                     FROM (VALUES %%s) AS v(account_id, mark, amount, cref, bref,
                          narrative, reason, payment_id, value_date, entry_date, uid)
                     JOIN g2p_sim_account a ON a.id = v.account_id
                   RETURNING id""",
            BANK_REFERENCE_SQL,
        )
        ids = execute_values(
            cr._obj,
            query.code,
            values,
            template="(%s::int, %s, %s::numeric, %s, %s, %s, %s, %s::int, %s::date, "
            "%s::date, %s::int)",
            fetch=True,
        )
        return self.sudo().browse([row[0] for row in ids])
