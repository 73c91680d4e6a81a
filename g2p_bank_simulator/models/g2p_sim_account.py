from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..exceptions import G2PSimBankError
from .g2p_sim_bank import MAX_REFERENCE

BALANCE_FIELDS = ("book_balance", "blocked_amount", "available_balance")
#: What the ledger and the statements carry: fixed once the account has entries.
FIXED_ONCE_BOOKED = ("account_number", "kind", "currency_id")


class G2PSimAccount(models.Model):
    """An account at the simulated bank.

    The three balances are stored so that they can be updated atomically in SQL; they
    change only through the services (deposit, blocks, payments), never through
    ``write``. The database guards ``book - blocked = available`` and that nothing goes
    negative.
    """

    _name = "g2p.sim.account"
    _description = "Simulated bank account"
    _inherit = ["mail.thread"]
    _rec_name = "account_number"
    _order = "account_number"

    # Indexed by its UNIQUE constraint (so are the other unique references).
    account_number = fields.Char(required=True, tracking=True)
    name = fields.Char(string="Holder", required=True, tracking=True)
    partner_id = fields.Many2one(
        "res.partner", string="Registrant", index="btree_not_null", tracking=True
    )
    currency_id = fields.Many2one("res.currency", required=True, tracking=True)
    kind = fields.Selection(
        [("customer", "Customer"), ("clearing", "Clearing")],
        required=True,
        default="customer",
        help="Clearing accounts collect payments to other banks and wallet providers.",
    )
    state = fields.Selection(
        [
            ("active", "Active"),
            ("dormant", "Dormant"),
            ("closed", "Closed"),
            ("deceased", "Deceased"),
        ],
        required=True,
        default="active",
        tracking=True,
    )
    book_balance = fields.Monetary(readonly=True, default=0)
    blocked_amount = fields.Monetary(readonly=True, default=0)
    available_balance = fields.Monetary(readonly=True, default=0)
    ledger_entry_count = fields.Integer(compute="_compute_counts")
    fund_block_count = fields.Integer(compute="_compute_counts")

    _sql_constraints = [
        (
            "account_number_uniq",
            "UNIQUE(account_number)",
            "An account with this number already exists.",
        ),
        (
            "balance_consistent",
            "CHECK(book_balance - blocked_amount = available_balance)",
            "Book balance minus blocked amount must equal the available balance.",
        ),
        ("blocked_positive", "CHECK(blocked_amount >= 0)", "Blocked amount < 0."),
        ("available_positive", "CHECK(available_balance >= 0)", "Overdraft refused."),
    ]

    def _compute_counts(self):
        entries = dict(
            self.env["g2p.sim.ledger.entry"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        blocks = dict(
            self.env["g2p.sim.fund.block"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.ledger_entry_count = entries.get(account, 0)
            account.fund_block_count = blocks.get(account, 0)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if any(vals.get(name) for name in BALANCE_FIELDS):
                raise UserError(
                    self.env._(
                        "An account opens with zero balances: fund it with a deposit."
                    )
                )
            self._normalise_number(vals)
        return super().create(vals_list)

    def write(self, vals):
        if any(name in vals for name in BALANCE_FIELDS):
            raise UserError(
                self.env._(
                    "Balances change only through deposits, fund blocks and payments."
                )
            )
        self._normalise_number(vals)
        self._check_fixed_once_booked(vals)
        if vals.get("state") == "closed":
            self.filtered(lambda acc: acc.state != "closed")._check_empty()
        return super().write(vals)

    @api.model
    def _normalise_number(self, vals):
        """The account number as the services read account numbers: stripped, one
        line, not empty (else a payment could never name it)."""
        if "account_number" in vals:
            vals["account_number"] = self.env["g2p.sim.bank"]._text(
                vals["account_number"] or None,
                self._fields["account_number"].string,
                required=True,
            )

    def _check_fixed_once_booked(self, vals):
        for name in FIXED_ONCE_BOOKED:
            if name not in vals:
                continue
            changed = self.filtered(
                lambda acc, name=name: (
                    acc._fields[name].convert_to_write(acc[name], acc) != vals[name]
                )
            )
            booked = changed.filtered("ledger_entry_count")[:1]
            if booked:
                raise UserError(
                    self.env._(
                        "Account %(a)s has ledger entries: its %(f)s cannot change "
                        "(its entries and statements carry it). Open a new account "
                        "instead.",
                        a=booked.account_number,
                        f=self._fields[name].string,
                    )
                )

    def _check_empty(self):
        """Refuse to close an account that still holds money (blocked or not): a bank
        closes an account once its balance is paid out. The rows are locked, so that
        no deposit or payment credits it between the check and the closing."""
        if not self:
            return
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT a.account_number, a.book_balance::text,
                          a.blocked_amount::text, c.name
                     FROM g2p_sim_account a JOIN res_currency c ON c.id = a.currency_id
                    WHERE a.id = ANY(%s) ORDER BY a.id FOR NO KEY UPDATE OF a""",
                self.ids,
            )
        )
        for number, book, blocked, currency in self.env.cr.fetchall():
            if Decimal(book):
                raise UserError(
                    self.env._(
                        "Account %(a)s cannot be closed: it holds %(b)s %(c)s, "
                        "%(k)s of them blocked. A bank closes an account only once "
                        "its balance is paid out and its fund blocks are released; "
                        "set it dormant to stop payments to and from it.",
                        a=number,
                        b=book,
                        k=blocked,
                        c=currency,
                    )
                )

    def action_view_ledger_entries(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_bank_simulator.g2p_sim_ledger_entry_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_fund_blocks(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_bank_simulator.g2p_sim_fund_block_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_open_deposit(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_bank_simulator.g2p_sim_deposit_wizard_action"
        )
        action["context"] = {"default_account_id": self.id}
        return action

    def action_generate_statement(self):
        self.ensure_one()
        statement = self.env["g2p.sim.bank"].generate_statement(self.account_number)
        return {
            "type": "ir.actions.act_window",
            "res_model": "g2p.sim.statement",
            "res_id": statement.id,
            "view_mode": "form",
        }

    def deposit(self, amount, reference=None):
        """Credit ``amount`` to this account with a ``C`` ledger entry; return it.

        The only way money enters the bank from outside (opening balances, top-ups).
        """
        self.ensure_one()
        bank = self.env["g2p.sim.bank"]
        bank._check_operator()
        amount = bank._to_amount(amount, self.currency_id)
        reference = bank._text(reference, "reference", limit=MAX_REFERENCE)
        limit = bank._amount_limit(self.currency_id)
        self.env.flush_all()
        # Conditional: a balance a statement cannot write would make every later
        # statement of the account fail.
        self.env.cr.execute(
            SQL(
                """UPDATE g2p_sim_account
                      SET book_balance = book_balance + %(amount)s,
                          available_balance = available_balance + %(amount)s
                    WHERE id = %(id)s AND state = 'active'
                      AND book_balance + %(amount)s < %(limit)s
                RETURNING id""",
                amount=amount,
                id=self.id,
                limit=limit,
            )
        )
        if not self.env.cr.fetchone():
            self._check_active()
            raise G2PSimBankError(
                "INVALID_AMOUNT",
                self.env._(
                    "A deposit of %(x)s would bring the balance of account %(a)s to "
                    "%(m)s %(c)s or more, which a statement cannot carry.",
                    x=amount,
                    a=self.account_number,
                    m=limit,
                    c=self.currency_id.name,
                ),
            )
        entry = self.env["g2p.sim.ledger.entry"]._append(
            [
                {
                    "account_id": self.id,
                    "mark": "C",
                    "amount": amount,
                    "customer_reference": reference or "DEPOSIT",
                    "narrative": self.env._("Deposit"),
                }
            ]
        )
        self.invalidate_recordset(BALANCE_FIELDS)
        return entry

    def _check_active(self):
        """Raise ACCOUNT_NOT_ACTIVE unless the account is active, as its row is now
        (a payment to it would fail too: money enters only active accounts)."""
        self.env.cr.execute(
            SQL("SELECT state FROM g2p_sim_account WHERE id = %s", self.id)
        )
        state = self.env.cr.fetchone()[0]
        if state != "active":
            raise G2PSimBankError(
                "ACCOUNT_NOT_ACTIVE",
                self.env._(
                    "Account %(a)s is %(s)s: only active accounts take deposits.",
                    a=self.account_number,
                    s=state,
                ),
            )
