from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .g2p_bank_connector import G2PBankConnectorError
from .g2p_payment import is_process
from .g2p_payment_batch_runner import CONTROL_CHARACTERS

BATCH_STATES = [
    ("draft", "Draft"),
    ("confirmed", "Confirmed"),
    ("funds_checked", "Funds checked"),
    ("funds_blocked", "Funds blocked"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("reconciled", "Reconciled"),
    ("partially_reconciled", "Partially reconciled"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
#: Fields of the batch's header, editable in draft only.
DRAFT_FIELDS = {
    "program_name",
    "program_mnemonic",
    "cycle_mnemonic",
    "connector_id",
    "funding_account_number",
    "currency_id",
    "scheduled_date",
    "narrative",
    "max_bank_batch_size",
}
#: Fields set by the batch's steps only (``_as_process``): its
#: state, block, counts and totals, errors and attempts, and what it is linked to.
PROCESS_FIELDS = frozenset(
    {
        "name",
        "state",
        "auto_continue",
        "block_reference",
        "statement_request_ref",
        "statement_attempts",
        "step_error",
        "step_job_id",
        "reissued_from_id",
        "statement_ids",
        "exclusion_ids",
        "error_ids",
        "payment_count",
        "amount_total",
        "issued_count",
        "sent_count",
        "paid_count",
        "amount_paid",
        "failed_count",
        "amount_failed",
    }
)
#: One-line texts of the batch's header: stripped, refused with a control character
#: (the bank strips them, so a funding account "ACC " found no statement of "ACC").
LINE_FIELDS = (
    "program_name",
    "program_mnemonic",
    "cycle_mnemonic",
    "funding_account_number",
    "narrative",
)
CANCELLABLE = ("draft", "confirmed", "funds_checked", "funds_blocked")
RUNNING_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")


class G2PPaymentBatch(models.Model):
    """A batch of payments to registrants, sent to a sponsor bank step by step.

    Every step is a queue job that checks first whether it is still relevant (the
    batch's state), so that a retried or duplicated job changes nothing. A bank
    error keeps the batch in its state with ``step_error`` and a Retry button.
    """

    _name = "g2p.payment.batch"
    _description = "Payment batch"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"

    name = fields.Char(
        required=True, readonly=True, copy=False, default="/", tracking=True
    )
    program_name = fields.Char(required=True, tracking=True)
    program_mnemonic = fields.Char(size=35, tracking=True)
    cycle_mnemonic = fields.Char(size=35, tracking=True)
    connector_id = fields.Many2one(
        "g2p.bank.connector", string="Bank connector", required=True, tracking=True
    )
    funding_account_number = fields.Char(required=True, tracking=True)
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        tracking=True,
    )
    scheduled_date = fields.Date(default=fields.Date.context_today, tracking=True)
    narrative = fields.Char(
        size=65, help="First narrative line the beneficiaries see (≤ 65 characters)."
    )
    max_bank_batch_size = fields.Integer(
        string="Maximum bank-batch size",
        default=10000,
        help="Payments are sent to the bank in calls of at most this many.",
    )
    state = fields.Selection(
        BATCH_STATES,
        required=True,
        default="draft",
        readonly=True,
        copy=False,
        tracking=True,
    )
    auto_continue = fields.Boolean(readonly=True, copy=False)
    block_reference = fields.Char(readonly=True, copy=False, tracking=True)
    statement_request_ref = fields.Char(
        string="Requested statement", readonly=True, copy=False
    )
    statement_attempts = fields.Integer(readonly=True, copy=False)
    step_error = fields.Text(readonly=True, copy=False, tracking=True)
    step_job_id = fields.Many2one(
        "queue.job", readonly=True, copy=False, groups="base.group_system"
    )
    step_running = fields.Boolean(compute="_compute_step")
    step_failure = fields.Text(compute="_compute_step")
    reissued_from_id = fields.Many2one(
        "g2p.payment.batch", string="Re-issued from", readonly=True, copy=False
    )
    payment_ids = fields.One2many("g2p.payment", "batch_id", string="Payments")
    exclusion_ids = fields.One2many("g2p.payment.exclusion", "batch_id")
    error_ids = fields.One2many("g2p.payment.reconciliation.error", "batch_id")
    statement_ids = fields.Many2many(
        "g2p.payment.statement",
        "g2p_payment_batch_statement_rel",
        "batch_id",
        "statement_id",
        string="Statements",
        readonly=True,
        copy=False,
    )
    # Totals by payment state: stored, refreshed set-based by _refresh_totals().
    payment_count = fields.Integer(readonly=True, copy=False)
    amount_total = fields.Monetary(readonly=True, copy=False)
    issued_count = fields.Integer(readonly=True, copy=False)
    sent_count = fields.Integer(readonly=True, copy=False)
    paid_count = fields.Integer(readonly=True, copy=False)
    amount_paid = fields.Monetary(readonly=True, copy=False)
    failed_count = fields.Integer(readonly=True, copy=False)
    amount_failed = fields.Monetary(readonly=True, copy=False)
    exclusion_count = fields.Integer(compute="_compute_counts")
    error_count = fields.Integer(compute="_compute_counts")
    statement_count = fields.Integer(compute="_compute_counts")
    progress = fields.Float(compute="_compute_progress")

    _sql_constraints = [
        ("name_uniq", "UNIQUE(name)", "Batch names are unique."),
        (
            "max_bank_batch_size_range",
            "CHECK(max_bank_batch_size BETWEEN 1 AND 50000)",
            "The maximum bank-batch size is between 1 and 50,000 payments.",
        ),
    ]

    @api.depends("step_job_id.state")
    def _compute_step(self):
        for batch in self:
            job = batch.sudo().step_job_id
            batch.step_running = job.state in RUNNING_JOB_STATES
            batch.step_failure = (
                (job.exc_message or job.exc_name or _("The step failed."))
                if job.state == "failed"
                else False
            )

    def _compute_counts(self):
        for field, model in (
            ("exclusion_count", "g2p.payment.exclusion"),
            ("error_count", "g2p.payment.reconciliation.error"),
        ):
            counts = dict(
                self.env[model]._read_group(
                    [("batch_id", "in", self.ids)], ["batch_id"], ["__count"]
                )
            )
            for batch in self:
                batch[field] = counts.get(batch, 0)
        for batch in self:
            batch.statement_count = len(batch.statement_ids)

    @api.depends("state", "payment_count", "issued_count", "sent_count")
    def _compute_progress(self):
        for batch in self:
            total = batch.payment_count or 1
            if batch.state in CANCELLABLE + ("cancelled",):
                done = 0
            elif batch.state == "sending":
                done = total - batch.issued_count
            else:
                done = total - batch.issued_count - batch.sent_count
            batch.progress = 100.0 * done / total

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._clean_lines(vals)
            if not is_process(self.env):
                if vals.get("name", "/") != "/":
                    self._refuse_name()
                self._check_process_fields(vals.keys() - {"name"})
            if vals.get("name", "/") == "/":
                vals["name"] = self._next_name()
        return super().create(vals_list)

    def write(self, vals):
        self._clean_lines(vals)
        if not is_process(self.env):
            if "name" in vals:
                self._refuse_name()
            self._check_process_fields(vals.keys())
            if DRAFT_FIELDS & vals.keys():
                self._check_draft(_("change the batch's details"))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft_or_cancelled(self):
        if self.filtered(lambda b: b.state not in ("draft", "cancelled")):
            raise UserError(_("Only draft or cancelled batches can be deleted."))

    # ------------------------------------------------------------------ actions
    def action_confirm(self):
        """Draft → confirmed: take the snapshot of every payee's account."""
        for batch in self:
            batch._check_draft(_("confirm it"))
            if not batch.payment_ids:
                raise UserError(
                    _("The batch %(b)s has no payment to confirm.", b=batch.name)
                )
            excluded = self.env["g2p.payment.batch.builder"]._snapshot_accounts(batch)
            batch._refresh_totals()
            if not batch.payment_count:
                raise UserError(
                    _(
                        "No payee of %(b)s has a usable account any more: see the "
                        "exclusions.",
                        b=batch.name,
                    )
                )
            batch._transition(
                "confirmed",
                _(
                    "Confirmed: %(n)s, %(amount)s; account snapshots taken; %(x)s "
                    "excluded.",
                    n=batch._payments_label(batch.payment_count),
                    amount=batch._money(batch._total()),
                    x=excluded,
                ),
            )
        return True

    def action_run(self):
        """Run every remaining step, one job after the other."""
        for batch in self:
            batch._check_expected_state()
            batch._as_process().auto_continue = True
            self.env["g2p.payment.batch.runner"]._enqueue_step(batch)
        return True

    def action_step(self):
        """Run the next step only (also the Retry of a failed step)."""
        for batch in self:
            batch._check_expected_state()
            self.env["g2p.payment.batch.runner"]._enqueue_step(batch)
        return True

    def action_cancel(self):
        for batch in self:
            batch._check_cancellable()
            message = batch._release_block()
            batch._set_payment_state("cancelled")
            batch._transition("cancelled", message)
        return True

    def action_reissue_failed(self):
        """A new draft batch with the failed payments not re-issued yet (to their
        current accounts). Failed is final, so the batch need not wait for its
        other payments' outcomes; a payment that fails later (a reversal after a
        first re-issue) is re-issued by a later call, never one twice."""
        self.ensure_one()
        self._lock(touch=True)
        failed = self.payment_ids.filtered(lambda p: p.state == "failed")
        if not failed:
            raise UserError(_("The batch %(b)s has no failed payment.", b=self.name))
        reissues = self.env["g2p.payment"].search(
            [("reissue_of_id", "in", failed.ids), ("state", "!=", "cancelled")]
        )
        todo = failed - reissues.reissue_of_id
        if not todo:
            raise UserError(
                _(
                    "The failed payments of %(b)s were already re-issued in %(n)s.",
                    b=self.name,
                    n=", ".join(reissues.batch_id.mapped("name")),
                )
            )
        batch = (
            self._as_process().copy({"reissued_from_id": self.id}).with_env(self.env)
        )
        payments, _excluded = self.env["g2p.payment.batch.builder"]._add_payments(
            batch, [(p.registrant_id, p.amount) for p in todo]
        )
        # A registrant is in a batch once: each new payment re-issues the failed
        # payment of its registrant.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """UPDATE g2p_payment n SET reissue_of_id = o.id
                     FROM g2p_payment o
                    WHERE n.id = ANY(%s) AND o.id = ANY(%s)
                      AND o.registrant_id = n.registrant_id""",
                payments.ids,
                todo.ids,
            )
        )
        payments.invalidate_recordset(["reissue_of_id"])
        self.message_post(
            body=_(
                "Failed payments re-issued in %(b)s: %(n)s.",
                n=self._payments_label(len(payments)),
                b=batch.name,
            )
        )
        return batch._action_open()

    def action_view_payments(self):
        return self._open_related("g2p_payment_batch.g2p_payment_action")

    def action_view_exclusions(self):
        return self._open_related("g2p_payment_batch.g2p_payment_exclusion_action")

    def action_view_errors(self):
        return self._open_related(
            "g2p_payment_batch.g2p_payment_reconciliation_error_action"
        )

    def action_view_statements(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_payment_batch.g2p_payment_statement_action"
        )
        action["domain"] = [("id", "in", self.statement_ids.ids)]
        return action

    def _open_related(self, xmlid):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [("batch_id", "=", self.id)]
        action["context"] = {"default_batch_id": self.id}
        return action

    def _action_open(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------ helpers
    def _check_draft(self, what):
        for batch in self.filtered(lambda b: b.state != "draft"):
            raise UserError(
                _(
                    "The batch %(b)s is %(s)s: only a draft batch lets you %(what)s.",
                    b=batch.name,
                    s=dict(BATCH_STATES)[batch.state],
                    what=what,
                )
            )

    def _check_process_fields(self, names):
        owned = PROCESS_FIELDS & names
        if owned:
            raise UserError(
                _(
                    "%(b)s: %(f)s changes only through the batch's steps.",
                    b=", ".join(self.mapped("name")) or _("A new batch"),
                    f=", ".join(sorted(owned)),
                )
            )

    @api.model
    def _clean_lines(self, vals):
        """Strip the one-line texts of ``vals`` in place; refuse a line break or
        another control character, and a required text left empty."""
        for name in LINE_FIELDS:
            value = vals.get(name)
            if not isinstance(value, str):
                continue
            label = self._fields[name].get_description(self.env)["string"]
            if CONTROL_CHARACTERS.search(value):
                raise UserError(
                    _(
                        "%(f)s must be one line of text, without line breaks, tabs "
                        "or other control characters.",
                        f=label,
                    )
                )
            vals[name] = value.strip()
            if not vals[name] and self._fields[name].required:
                raise UserError(_("%(f)s cannot be empty.", f=label))

    def _check_cancellable(self):
        """Refuse to cancel, saying why, unless the batch may be cancelled now."""
        if self.state == "cancelled":
            why = _("The batch %(b)s is already cancelled.", b=self.name)
        elif self.state in ("reconciled", "partially_reconciled", "failed"):
            why = _(
                "The batch %(b)s is %(s)s: its payments were executed by the bank "
                "and cannot be cancelled.",
                b=self.name,
                s=self._state_label(),
            )
        elif self.state not in CANCELLABLE:
            why = _(
                "The batch %(b)s is %(s)s: its payments have reached the bank and "
                "can no longer be cancelled.",
                b=self.name,
                s=self._state_label(),
            )
        elif self.step_running:
            why = _(
                "A step of %(b)s is waiting or running: cancel when it has ended "
                "(if it failed, cancel or Retry).",
                b=self.name,
            )
        else:
            return
        raise UserError(why)

    def _refuse_name(self):
        raise UserError(
            _(
                "A batch's name comes from the sequence Payment batch and cannot be "
                "chosen: the bank keeps it as the reference of the batch's fund "
                "block."
            )
        )

    @api.model
    def _next_name(self):
        """The next name of the sequence: the block reference, at most 16
        characters at the bank (a longer one stopped the batch at its block)."""
        name = self.env["ir.sequence"].next_by_code("g2p.payment.batch")
        if not name or len(name) > 16:
            raise UserError(
                _(
                    "The sequence Payment batch gives %(n)s: a batch name must have "
                    "1 to 16 characters (the bank's block reference). Ask a manager "
                    "to shorten its prefix or padding (Settings → Technical → "
                    "Sequences).",
                    n=name or _("no name"),
                )
            )
        return name

    def _check_expected_state(self):
        """The step buttons pass the state they were shown for: a double click, or a
        request retried after another one moved the batch on, runs nothing more."""
        expected = self.env.context.get("g2p_expected_state")
        if expected and self.state != expected:
            raise UserError(
                _(
                    "The batch %(b)s is now %(s)s (it was %(e)s when you clicked): "
                    "reload it and choose again.",
                    b=self.name,
                    s=self._state_label(),
                    e=dict(BATCH_STATES).get(expected, expected),
                )
            )

    def _release_block(self):
        """Release the batch's fund block, if it may have one; the chatter message.

        The block step sends the batch's name as the block's reference: when that
        call got no answer, the block may exist at the bank under the name although
        ``block_reference`` is empty, so it is released by name. A block the bank
        no longer holds (released, expired, consumed, unknown) is no reason to keep
        the batch: it is cancelled all the same, and the chatter says so."""
        job = self.sudo().step_job_id
        attempted = self.state == "funds_blocked" or (
            self.state == "funds_checked" and job.method_name == "_job_block_funds"
        )
        reference = self.block_reference or (attempted and self.name)
        if not reference:
            return _("Cancelled.")
        try:
            self.connector_id.release_block(reference)
        except G2PBankConnectorError as error:
            if error.code not in ("BLOCK_NOT_ACTIVE", "BLOCK_NOT_FOUND"):
                raise
            return _(
                "Cancelled; nothing to release at the bank for the fund block "
                "%(r)s: %(e)s",
                r=reference,
                e=error.args[0],
            )
        return _("Cancelled; fund block %(r)s released.", r=reference)

    def _as_process(self):
        """The batch as its steps write what they own (see ``is_process``)."""
        return self.sudo().with_context(g2p_transition=True)

    def _transition(self, state, message):
        self.ensure_one()
        self._as_process().write({"state": state})
        self.message_post(body=message)

    def _total(self):
        """The amount of the payments not cancelled, exact."""
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT coalesce(sum(amount), 0)::text FROM g2p_payment
                    WHERE batch_id = %s AND state != 'cancelled'""",
                self.id,
            )
        )
        return Decimal(self.env.cr.fetchone()[0])

    def _refresh_totals(self):
        """Counts and amounts by payment state, in one statement."""
        if not self:
            return
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """UPDATE g2p_payment_batch b
                      SET payment_count = coalesce(s.total, 0),
                          amount_total = coalesce(s.amount_total, 0),
                          issued_count = coalesce(s.issued, 0),
                          sent_count = coalesce(s.sent, 0),
                          paid_count = coalesce(s.paid, 0),
                          amount_paid = coalesce(s.amount_paid, 0),
                          failed_count = coalesce(s.failed, 0),
                          amount_failed = coalesce(s.amount_failed, 0)
                     FROM (SELECT id FROM g2p_payment_batch WHERE id = ANY(%s)) x
                     LEFT JOIN (
                          SELECT batch_id,
                                 count(*) AS total,
                                 sum(amount) AS amount_total,
                                 count(*) FILTER (WHERE state = 'issued') AS issued,
                                 count(*) FILTER (WHERE state = 'sent') AS sent,
                                 count(*) FILTER (WHERE state = 'paid') AS paid,
                                 sum(amount) FILTER (WHERE state = 'paid')
                                     AS amount_paid,
                                 count(*) FILTER (WHERE state = 'failed') AS failed,
                                 sum(amount) FILTER (WHERE state = 'failed')
                                     AS amount_failed
                            FROM g2p_payment WHERE batch_id = ANY(%s)
                           GROUP BY batch_id) s ON s.batch_id = x.id
                    WHERE b.id = x.id""",
                self.ids,
                self.ids,
            )
        )
        self.invalidate_recordset()

    def _set_payment_state(self, state, ids=None, bank_batch=None):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """UPDATE g2p_payment SET state = %s,
                          bank_batch_id = coalesce(%s, bank_batch_id)
                    WHERE batch_id = ANY(%s) AND (%s OR id = ANY(%s))""",
                state,
                bank_batch,
                self.ids,
                ids is None,
                ids or [],
            )
        )
        self.env["g2p.payment"].invalidate_model(["state", "bank_batch_id"])
        self._refresh_totals()

    def _money(self, amount):
        """``amount`` with the currency's code (officers read KES, not KSh)."""
        places = self.currency_id.decimal_places
        return f"{Decimal(str(amount)):,.{places}f} {self.currency_id.name}"

    def _payments_label(self, count):
        """ "1 payment", "2 payments"."""
        if count == 1:
            return _("1 payment")
        return _("%(n)s payments", n=count)

    def _state_label(self):
        return dict(BATCH_STATES)[self.state]

    def _lock(self, touch=False):
        """Lock the batch row (two jobs of one batch never overlap); fresh state.

        With ``touch`` the row is also updated (its write date): a concurrent
        request that read the batch before this one committed cannot lock it and
        fails to serialise, so Odoo runs it again and it sees what this one did
        (a lock alone would let it go on with its older snapshot)."""
        self.env.flush_all()
        if touch:
            query = SQL(
                """UPDATE g2p_payment_batch
                      SET write_date = now() at time zone 'UTC', write_uid = %s
                    WHERE id = %s""",
                self.env.uid,
                self.id,
            )
        else:
            query = SQL(
                "SELECT id FROM g2p_payment_batch WHERE id = %s FOR NO KEY UPDATE",
                self.id,
            )
        self.env.cr.execute(query)
        self.invalidate_recordset()

    def _settle(self):
        """Refresh totals; move batches whose payments have outcomes on."""
        self._refresh_totals()
        for batch in self.filtered(
            lambda b: b.state in ("sent", "partially_reconciled")
        ):
            settled = batch.paid_count + batch.failed_count
            if not settled:
                continue
            if batch.sent_count or batch.issued_count:
                state = "partially_reconciled"
            else:
                state = "reconciled" if batch.paid_count else "failed"
            if state != batch.state:
                batch._transition(
                    state,
                    _(
                        "%(s)s: %(p)s paid (%(ap)s), %(f)s failed (%(af)s), %(w)s "
                        "without outcome.",
                        s=dict(BATCH_STATES)[state],
                        p=batch.paid_count,
                        ap=batch._money(batch.amount_paid),
                        f=batch.failed_count,
                        af=batch._money(batch.amount_failed),
                        w=batch.sent_count,
                    ),
                )

    def _demo_add_registrants(self, registrant_ids, amount):
        """Demo data: add registrants with one amount (exclusions included)."""
        registrants = self.env["res.partner"].browse(registrant_ids)
        self.env["g2p.payment.batch.builder"]._add_payments(
            self, [(registrant, Decimal(amount)) for registrant in registrants]
        )
