from psycopg2.extras import execute_values

from odoo import fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from .g2p_sim_ledger_entry import BANK_REFERENCE_SQL


class G2PSimPaymentBatch(models.Model):
    """The payments of one ``initiate_payment`` call, processed by one job."""

    _name = "g2p.sim.payment.batch"
    _description = "Simulated bank payment batch"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(string="Batch ID", required=True, readonly=True)  # UNIQUE
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("processing", "Processing"),
            ("done", "Done"),
            ("failed", "Failed"),
        ],
        required=True,
        default="pending",
        readonly=True,
        tracking=True,
    )
    currency_id = fields.Many2one("res.currency", readonly=True)
    payment_ids = fields.One2many("g2p.sim.payment", "batch_id", readonly=True)
    payment_count = fields.Integer(readonly=True)
    amount_total = fields.Monetary(readonly=True)
    success_count = fields.Integer(readonly=True)
    amount_success = fields.Monetary(readonly=True)
    failed_count = fields.Integer(readonly=True)
    amount_failed = fields.Monetary(readonly=True)
    attempt_count = fields.Integer(
        string="Processing attempts", readonly=True, default=0
    )
    processed_date = fields.Datetime(readonly=True)
    error = fields.Text(readonly=True)

    _sql_constraints = [
        ("name_uniq", "UNIQUE(name)", "Batch IDs are unique."),
    ]

    def action_retry(self):
        """Enqueue again a batch whose processing failed (after fixing its cause)."""
        if not self.env.user.has_group("g2p_bank_simulator.group_manager"):
            raise AccessError(
                self.env._("Only bank managers may retry a payment batch.")
            )
        for batch in self.filtered(lambda b: b.state == "failed"):
            self.env["g2p.sim.bank"]._enqueue_batch(batch, retry=batch.attempt_count)
        return True

    def _process(self):
        """Execute the batch's pending payments with a handful of set-based statements.

        Runs in the caller's transaction (the job's): all or nothing. Payments that are
        no longer pending are never touched again, so a re-run cannot debit twice.
        """
        self.ensure_one()
        cr = self.env.cr
        cr.execute(
            SQL(
                """SELECT id, payment_reference_number, beneficiary_account,
                          beneficiary_account_type, beneficiary_bank_code,
                          CASE beneficiary_account_type
                              WHEN 'MOBILE_WALLET'
                                  THEN beneficiary_mobile_wallet_provider
                              WHEN 'EMAIL_WALLET' THEN beneficiary_email_wallet_provider
                          END, %s, beneficiary_name
                     FROM g2p_sim_payment WHERE batch_id = %s AND status = 'pending'""",
                self.currency_id.id,
                self.id,
            )
        )
        keys = ("id", "reference", "account", "account_type", "bank_code", "provider")
        payments = [
            dict(zip((*keys, "currency_id", "name"), row, strict=True))
            for row in cr.fetchall()
        ]
        if payments:
            self._execute(payments)
        self._finish()

    def _execute(self, payments):
        cr = self.env.cr
        # The outcomes depend on the state and currency of our customers' accounts
        # to credit: lock them, and the remitting accounts, before deciding. Under
        # READ COMMITTED (the job's, see ``g2p_bank_simulator.transactions``) an account
        # closed meanwhile is then seen closed, not credited. In id order; the
        # clearing accounts (never among these) are locked after, in id order too.
        cr.execute(
            SQL(
                """SELECT id FROM g2p_sim_account
                    WHERE id IN (SELECT account_id FROM g2p_sim_payment
                                  WHERE batch_id = %(batch)s)
                       OR (kind = 'customer' AND account_number IN (
                              SELECT beneficiary_account FROM g2p_sim_payment
                               WHERE batch_id = %(batch)s AND status = 'pending'))
                    ORDER BY id FOR NO KEY UPDATE""",
                batch=self.id,
            )
        )
        outcomes = self.env["g2p.sim.failure.simulator"]._decide(payments)
        # Accounts to credit that may not exist yet: our customers' or clearing ones.
        new_accounts = {}
        for p in payments:
            _reason, number, kind = outcomes[p["id"]]
            if number:
                holder = (
                    p["name"]
                    if kind == "customer"
                    else self.env._("Clearing %(n)s", n=number)
                )
                new_accounts.setdefault(number, (number, holder or number, kind))
        now = fields.Datetime.now()
        uid = self.env.uid
        if new_accounts:
            self._create_accounts(list(new_accounts.values()), now, uid)
        cr.execute(SQL("DROP TABLE IF EXISTS g2p_sim_outcome"))
        cr.execute(
            SQL(
                """CREATE TEMP TABLE g2p_sim_outcome (
                       payment_id int PRIMARY KEY, reason varchar,
                       credit_number varchar, credit_account_id int) ON COMMIT DROP"""
            )
        )
        execute_values(
            cr._obj,
            "INSERT INTO g2p_sim_outcome (payment_id, reason, credit_number) VALUES %s",
            [(pid, reason, number) for pid, (reason, number, _k) in outcomes.items()],
            page_size=5000,
        )
        cr.execute(
            SQL(
                """UPDATE g2p_sim_outcome o SET credit_account_id = a.id
                     FROM g2p_sim_account a WHERE a.account_number = o.credit_number"""
            )
        )
        # Row locks in id order: accounts (the clearing ones now), then blocks.
        cr.execute(
            SQL(
                """SELECT id FROM g2p_sim_account WHERE id IN (
                       SELECT account_id FROM g2p_sim_payment WHERE batch_id = %s
                       UNION SELECT credit_account_id FROM g2p_sim_outcome)
                   ORDER BY id FOR NO KEY UPDATE""",
                self.id,
            )
        )
        cr.execute(
            SQL(
                """SELECT id FROM g2p_sim_fund_block WHERE id IN (
                       SELECT block_id FROM g2p_sim_payment WHERE batch_id = %s)
                   ORDER BY id FOR NO KEY UPDATE""",
                self.id,
            )
        )
        cr.execute(
            SQL(
                """UPDATE g2p_sim_payment p
                      SET status = CASE WHEN o.reason IS NULL THEN 'success'
                                        ELSE 'failed' END,
                          failure_reason = o.reason,
                          credit_account_id = o.credit_account_id,
                          bank_reference = %s,
                          write_uid = %s, write_date = %s
                     FROM g2p_sim_outcome o WHERE o.payment_id = p.id""",
                BANK_REFERENCE_SQL,
                uid,
                now,
            )
        )
        self._write_ledger(now, uid)
        self._update_balances()

    def _create_accounts(self, rows, now, uid):
        """Open the accounts to credit that do not exist yet (number, holder, kind)."""
        execute_values(
            self.env.cr._obj,
            """INSERT INTO g2p_sim_account
               (account_number, name, kind, currency_id, state, book_balance,
                blocked_amount, available_balance,
                create_uid, create_date, write_uid, write_date)
               SELECT v.number, v.holder, v.kind, v.currency_id, 'active', 0, 0, 0,
                      v.uid, v.now, v.uid, v.now
                 FROM (VALUES %s) AS v(number, holder, kind, currency_id, uid, now)
               ON CONFLICT (account_number) DO NOTHING""",
            [(*row, self.currency_id.id, uid, now) for row in rows],
            template="(%s, %s, %s, %s::int, %s::int, %s::timestamp)",
            page_size=5000,
        )

    def _write_ledger(self, now, uid):
        """One D per payment and an RD per failed payment on the remitting account, one
        C per successful payment on the credited account."""
        cr = self.env.cr
        today = self.env["g2p.sim.bank"]._today()  # UTC, whoever writes
        columns = SQL(
            """account_id, currency_id, mark, is_reversal, amount, signed_amount,
               customer_reference, bank_reference, block_reference, narrative, reason,
               payment_id, value_date, entry_date, create_uid, write_uid, create_date,
               write_date"""
        )
        # Narrative lines 1-4 as sent; line 5 carries a reference too long for :61:.
        first_lines = SQL(
            """coalesce(p.narrative_1, ''), coalesce(p.narrative_2, ''),
               coalesce(p.narrative_3, ''), coalesce(p.narrative_4, ''),
               CASE WHEN coalesce(p.narrative_5, '') = ''
                         AND length(p.payment_reference_number) > 16
                    THEN p.payment_reference_number
                    ELSE coalesce(p.narrative_5, '') END"""
        )
        cr.execute(
            SQL(
                """INSERT INTO g2p_sim_ledger_entry (%(columns)s)
                   SELECT p.account_id, %(currency)s, m.mark, m.mark = 'RD',
                          p.payment_amount,
                          CASE WHEN m.mark = 'D' THEN -p.payment_amount
                               ELSE p.payment_amount END,
                          p.payment_reference_number,
                          CASE WHEN m.mark = 'D' THEN p.bank_reference
                               ELSE %(bank_reference)s END,
                          p.funds_blocked_reference_number,
                          rtrim(CASE WHEN m.mark = 'D'
                               THEN concat_ws(E'\n', %(lines)s,
                                              coalesce(p.narrative_6, ''))
                               ELSE concat_ws(E'\n', %(lines)s, o.reason) END, E'\n'),
                          CASE WHEN m.mark = 'RD' THEN o.reason END,
                          p.id, %(today)s, %(today)s, %(uid)s, %(uid)s, %(now)s, %(now)s
                     FROM g2p_sim_payment p
                     JOIN g2p_sim_outcome o ON o.payment_id = p.id
                    CROSS JOIN (VALUES ('D', 0), ('RD', 1)) AS m(mark, pos)
                    WHERE m.mark = 'D' OR o.reason IS NOT NULL
                    ORDER BY p.id, m.pos""",
                columns=columns,
                bank_reference=BANK_REFERENCE_SQL,
                lines=first_lines,
                currency=self.currency_id.id,
                today=today,
                uid=uid,
                now=now,
            )
        )
        cr.execute(
            SQL(
                """INSERT INTO g2p_sim_ledger_entry (%(columns)s)
                   SELECT o.credit_account_id, %(currency)s, 'C', false,
                          p.payment_amount, p.payment_amount,
                          p.payment_reference_number, %(bank_reference)s, NULL,
                          concat_ws(E'\n', a.name, p.remitting_account,
                                    p.payment_reference_number),
                          NULL, p.id, %(today)s, %(today)s,
                          %(uid)s, %(uid)s, %(now)s, %(now)s
                     FROM g2p_sim_payment p
                     JOIN g2p_sim_outcome o ON o.payment_id = p.id
                     JOIN g2p_sim_account a ON a.id = p.account_id
                    WHERE o.reason IS NULL
                    ORDER BY p.id""",
                columns=columns,
                bank_reference=BANK_REFERENCE_SQL,
                currency=self.currency_id.id,
                today=today,
                uid=uid,
                now=now,
            )
        )

    def _update_balances(self):
        """One UPDATE per account and per block touched, aggregated over the payments.

        The remitting account loses the whole batch from its blocked amount; failed
        payments come back to its available balance (their RD entries).
        """
        cr = self.env.cr
        cr.execute(
            SQL(
                """UPDATE g2p_sim_account a
                      SET book_balance = a.book_balance - s.total + s.failed,
                          blocked_amount = a.blocked_amount - s.total,
                          available_balance = a.available_balance + s.failed
                     FROM (SELECT p.account_id, sum(p.payment_amount) AS total,
                                  coalesce(sum(p.payment_amount)
                                      FILTER (WHERE o.reason IS NOT NULL), 0) AS failed
                             FROM g2p_sim_payment p
                             JOIN g2p_sim_outcome o ON o.payment_id = p.id
                            GROUP BY p.account_id) s
                    WHERE a.id = s.account_id"""
            )
        )
        cr.execute(
            SQL(
                """UPDATE g2p_sim_account a
                      SET book_balance = a.book_balance + s.total,
                          available_balance = a.available_balance + s.total
                     FROM (SELECT o.credit_account_id, sum(p.payment_amount) AS total
                             FROM g2p_sim_payment p
                             JOIN g2p_sim_outcome o ON o.payment_id = p.id
                            WHERE o.reason IS NULL
                            GROUP BY o.credit_account_id) s
                    WHERE a.id = s.credit_account_id"""
            )
        )
        cr.execute(
            SQL(
                """UPDATE g2p_sim_fund_block b
                      SET amount_consumed = b.amount_consumed + s.total,
                          amount_reserved = b.amount_reserved - s.total,
                          amount_remaining = b.amount_remaining - s.total,
                          state = CASE WHEN b.state = 'active'
                                            AND b.amount_remaining = s.total
                                       THEN 'consumed' ELSE b.state END
                     FROM (SELECT p.block_id, sum(p.payment_amount) AS total
                             FROM g2p_sim_payment p
                             JOIN g2p_sim_outcome o ON o.payment_id = p.id
                            GROUP BY p.block_id) s
                    WHERE b.id = s.block_id"""
            )
        )

    def _finish(self):
        """Counts and totals by outcome, state done."""
        self.env.cr.execute(
            SQL(
                """UPDATE g2p_sim_payment_batch b
                      SET success_count = s.success_count,
                          amount_success = s.amount_success,
                          failed_count = s.failed_count,
                          amount_failed = s.amount_failed,
                          state = 'done', error = NULL,
                          attempt_count = coalesce(b.attempt_count, 0) + 1,
                          processed_date = %s
                     FROM (SELECT count(*) FILTER (WHERE status = 'success')
                                      AS success_count,
                                  coalesce(sum(payment_amount)
                                      FILTER (WHERE status = 'success'), 0)
                                      AS amount_success,
                                  count(*) FILTER (WHERE status = 'failed')
                                      AS failed_count,
                                  coalesce(sum(payment_amount)
                                      FILTER (WHERE status = 'failed'), 0)
                                      AS amount_failed
                             FROM g2p_sim_payment WHERE batch_id = %s) s
                    WHERE b.id = %s""",
                fields.Datetime.now(),
                self.id,
                self.id,
            )
        )
        self.env.invalidate_all()
