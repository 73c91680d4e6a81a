from datetime import timedelta
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.g2p_bank_simulator.models.g2p_sim_bank import CONTROL_CHARACTERS
from odoo.addons.g2p_bank_simulator.models.g2p_sim_payment_intake import (
    PAYMENT_TEXT_FIELDS,
)
from odoo.addons.g2p_bank_simulator.transactions import read_committed

from .g2p_bank_connector import G2PBankConnectorError
from .g2p_payment import ACCOUNT_TYPES
from .g2p_payment_reconciler import statement_accounts
from .g2p_payment_statement import StatementRefused, statement_hash

#: The job that moves a batch on from each state.
NEXT_STEP = {
    "confirmed": "_job_check_funds",
    "funds_checked": "_job_block_funds",
    "funds_blocked": "_job_send",
    "sending": "_job_send",
    "sent": "_job_obtain_statements",
    "partially_reconciled": "_job_obtain_statements",
}
#: How often a batch asks again for statements while payments lack an outcome.
MAX_STATEMENT_ATTEMPTS = 13
#: Pause before the first repeated statement request, doubled at each attempt up to
#: the longest pause (1, 2, 4 … 512 s, then 900 s three times: about an hour). The
#: first statements are asked for as soon as the last chunk is sent, usually before
#: the bank has executed it: asked again a second later, a batch is reconciled about
#: a second after the bank wrote its last statement; a slow bank is still asked for
#: an hour.
STATEMENT_FIRST_RETRY_SECONDS = 1
STATEMENT_LONGEST_RETRY_SECONDS = 900
CHANNEL = "root.g2p_payment_batch"
#: The longest text the bank takes in each field of a payment request (its intake).
TEXT_LIMITS = {name: limit for name, _required, limit in PAYMENT_TEXT_FIELDS}


class G2PPaymentBatchRunner(models.AbstractModel):
    """The steps of a payment batch, each one a queue job (channel
    ``root.g2p_payment_batch``): check funds → block → send in chunks → obtain
    statements → reconcile.

    Each job locks the batch and first checks that its step is still due (the
    batch's state), so a retried or duplicated job changes nothing. A bank error
    rolls the step back, keeps the batch's state and is recorded as its step error
    (the form offers Retry). With ``auto_continue`` a step enqueues the next one.

    The steps that call the bank's money services (check, block, send) run under
    READ COMMITTED (``g2p_bank_simulator.transactions``): with the in-database bank,
    sending a chunk locks the fund block that the bank's job paying the previous
    chunk is changing; under REPEATABLE READ the send failed as soon as that job
    committed and queue_job ran it again 5 s later (most chunks of a batch did). The
    batch's row lock comes first and the bank locks what it decides on, so the step
    reads committed rows after waiting. Obtaining and reconciling statements stay
    REPEATABLE READ: two batches of one connector may import or reconcile the same
    statement at once, and the loser's serialization error (its job is retried)
    is what keeps a statement from being applied twice.
    """

    _name = "g2p.payment.batch.runner"
    _description = "Payment batch steps"

    @api.model
    def _enqueue_step(self, batch, eta=None, internal=False):
        """Enqueue the job of the batch's next step (nothing twice)."""
        method = NEXT_STEP.get(batch.state)
        if not method:
            raise UserError(
                _(
                    "The batch %(b)s is %(s)s: there is no step to run.",
                    b=batch.name,
                    s=batch._state_label(),
                )
            )
        if not internal and (batch.step_running or self._retry_running(batch)):
            raise UserError(
                _("A step of %(b)s is already running: wait for it.", b=batch.name)
            )
        self._enqueue(batch, method, eta=eta)

    @api.model
    def _enqueue(self, batch, method, eta=None, step=True):
        """Enqueue ``method``; with ``step``, as the batch's running step.

        A job of the same method already waiting is returned by queue_job instead
        of a second one: asked for now, it is brought forward (an officer's Obtain
        statements while the batch's own request waits for its time)."""
        job = getattr(
            self.with_delay(
                channel=CHANNEL,
                eta=eta,
                identity_key=self._identity_key(batch, method),
                description=_("%(b)s: %(step)s", b=batch.name, step=method[5:]),
            ),
            method,
        )(batch)
        record = job if isinstance(job, models.BaseModel) else job.db_record()
        if eta is None and record.state == "pending" and record.eta:
            record.sudo().eta = False
        if step:
            batch._as_process().write({"step_error": False, "step_job_id": record.id})

    @api.model
    def _identity_key(self, batch, method):
        return f"g2p_payment_batch_{batch.id}{method}"

    @api.model
    def _retry_running(self, batch):
        """Whether the statement request that the batch scheduled for itself (not
        its step: the batch is not busy while it waits) is running now."""
        return bool(
            self.env["queue.job"]
            .sudo()
            .search_count(
                [
                    (
                        "identity_key",
                        "=",
                        self._identity_key(batch, "_job_obtain_statements"),
                    ),
                    ("state", "=", "started"),
                ]
            )
        )

    @api.model
    def _run_step(self, batch, states, work):
        """Run ``work()`` if ``batch`` is still in one of ``states``. A bank error
        rolls the step back, keeps the state and is recorded as the step error."""
        batch._lock()
        if batch.state not in states:
            return _("%(b)s is %(s)s: nothing to do.", b=batch.name, s=batch.state)
        try:
            with self.env.cr.savepoint():
                return work()
        except (G2PBankConnectorError, UserError) as error:
            message = str(error.args[0])
            batch._as_process().write({"step_error": message})
            batch.message_post(
                body=_(
                    "Step failed, the batch stays %(s)s: %(e)s",
                    s=batch._state_label(),
                    e=message,
                )
            )
            return message

    @api.model
    def _continue(self, batch):
        if batch.auto_continue and batch.state in NEXT_STEP:
            self._enqueue_step(batch, internal=True)

    @api.model
    def _job_check_funds(self, batch):
        read_committed(self.env.cr)

        def work():
            total = batch._total()
            account, currency = batch.funding_account_number, batch.currency_id.name
            if not batch.connector_id.check_funds(account, currency, total):
                raise G2PBankConnectorError(
                    "INSUFFICIENT_FUNDS",
                    _(
                        "The account %(a)s has not %(t)s available: top it up, "
                        "then Retry.",
                        a=account,
                        t=batch._money(total),
                    ),
                )
            batch._transition(
                "funds_checked",
                _("Funds checked: %(t)s available.", t=batch._money(total)),
            )
            self._continue(batch)
            return _("Funds available.")

        return self._run_step(batch, ("confirmed",), work)

    @api.model
    def _job_block_funds(self, batch):
        # The batch name is the block reference: a repeated block step gets the
        # same block back from the bank instead of a second one.
        read_committed(self.env.cr)

        def work():
            total = batch._total()
            reference = batch.connector_id.block_funds(
                batch.funding_account_number, batch.currency_id.name, total, batch.name
            )
            batch._as_process().block_reference = reference
            batch._transition(
                "funds_blocked",
                _(
                    "Funds blocked: %(t)s, block %(r)s.",
                    t=batch._money(total),
                    r=reference,
                ),
            )
            self._continue(batch)
            return reference

        return self._run_step(batch, ("funds_checked",), work)

    @api.model
    def _job_send(self, batch):
        """Send the next chunk of issued payments; enqueue the following chunk.

        The chunk is marked sent in the transaction of the call: a crash rolls both
        back (in-database bank), or the retry re-sends the same chunk, which the
        bank answers as a replay of the same batch (HTTP bank). Never paid twice."""
        read_committed(self.env.cr)

        def work():
            if batch.state == "funds_blocked":
                batch._transition("sending", _("Sending to the bank."))
            ids, requests = self._next_chunk(batch)
            if ids:
                try:
                    bank_batch = batch.connector_id.initiate_payment(requests)
                except G2PBankConnectorError as error:
                    raise G2PBankConnectorError(
                        error.code, self._which_payments(error, requests)
                    ) from error
                batch._set_payment_state("sent", ids, bank_batch)
                batch.message_post(
                    body=_(
                        "%(n)s sent as bank batch %(bb)s.",
                        n=batch._payments_label(len(ids)),
                        bb=bank_batch,
                    )
                )
            if batch.issued_count:
                self._enqueue(batch, "_job_send")
            else:
                batch._transition(
                    "sent",
                    _("All sent: %(n)s.", n=batch._payments_label(batch.sent_count)),
                )
                self._continue(batch)
            return _("%(n)s sent.", n=batch._payments_label(len(ids)))

        return self._run_step(batch, ("funds_blocked", "sending"), work)

    @api.model
    def _next_chunk(self, batch, limit=None):
        """Ids and example-bank requests of the next issued payments (id order): at
        most ``limit``, by default the batch's maximum bank-batch size."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT p.id, p.name, p.amount::text, p.holder_name,
                          p.account_number, p.account_type, p.bank_code,
                          p.branch_code, p.wallet_provider, p.wallet_phone,
                          p.wallet_email, r.g2p_functional_id
                     FROM g2p_payment p JOIN res_partner r ON r.id = p.registrant_id
                    WHERE p.batch_id = %s AND p.state = 'issued'
                    ORDER BY p.id LIMIT %s""",
                batch.id,
                limit or batch.max_bank_batch_size,
            )
        )
        rows = self.env.cr.fetchall()
        common = self._common_request(batch)
        requests = []
        for row in rows:
            _id, ref, amount, holder, number, acc_type, bank, branch = row[:8]
            provider, phone, email, functional_id = row[8:]
            mobile, mail = acc_type == "mobile_wallet", acc_type == "email_wallet"
            requests.append(
                {
                    **common,
                    "payment_reference_number": ref,
                    "payment_amount": Decimal(amount),
                    "beneficiary_name": holder or "",
                    "beneficiary_account": number,
                    "beneficiary_account_type": ACCOUNT_TYPES[acc_type],
                    "beneficiary_bank_code": bank or "",
                    "beneficiary_branch_code": branch or "",
                    "beneficiary_mobile_wallet_provider": provider if mobile else None,
                    "beneficiary_phone_no": phone if mobile else None,
                    "beneficiary_email": email if mail else None,
                    "beneficiary_email_wallet_provider": provider if mail else None,
                    "narrative_4": functional_id or "",
                }
            )
        return [row[0] for row in rows], requests

    @api.model
    def _common_request(self, batch):
        """What every payment request of the batch says (the batch's details)."""
        currency = batch.currency_id.name
        # Narratives as the G2P Bridge sends them: 1 disbursement, 2 program,
        # 3 cycle, 4 beneficiary id.
        return {
            "remitting_account": batch.funding_account_number,
            "remitting_account_currency": currency,
            "funds_blocked_reference_number": batch.block_reference,
            "beneficiary_account_currency": currency,
            "narrative_1": batch.narrative or batch.program_name,
            "narrative_2": batch.program_mnemonic or "",
            "narrative_3": batch.cycle_mnemonic or "",
            "narrative_5": "",
            "narrative_6": "",
            "payment_date": fields.Date.to_string(
                batch.scheduled_date or fields.Date.context_today(batch)
            ),
        }

    @api.model
    def _refusal(self, request, names=None):
        """Why the bank would refuse the text of ``request`` (its fields ``names``,
        by default all), or None: too long for the bank, or a control character."""
        for name in names or request:
            value, limit = request.get(name), TEXT_LIMITS.get(name)
            if not limit or not isinstance(value, str):
                continue
            if len(value) > limit:
                return _(
                    "%(f)s has %(n)s characters, the bank takes at most %(m)s",
                    f=name,
                    n=len(value),
                    m=limit,
                )
            if CONTROL_CHARACTERS.search(value):
                return _(
                    "%(f)s contains a control character, which the bank refuses",
                    f=name,
                )
        return None

    @api.model
    def _which_payments(self, error, requests):
        """The bank's error about a chunk, naming the payments it is about: those
        whose text the bank refuses, else the chunk's references."""
        refused = []
        for request in requests:
            reason = self._refusal(request)
            if reason:
                refused.append(
                    _(
                        "payment %(p)s to %(r)s (%(f)s): %(why)s",
                        p=request["payment_reference_number"],
                        r=CONTROL_CHARACTERS.sub("?", request["beneficiary_name"][:60]),
                        f=request["narrative_4"],
                        why=reason,
                    )
                )
        if not refused:
            refs = [request["payment_reference_number"] for request in requests]
            refused = [_("payments %(r)s", r=", ".join(refs[:10]))]
            if len(refs) > 10:
                refused.append(_("and %(n)s more", n=len(refs) - 10))
        return _("%(e)s (%(which)s)", e=error.args[0], which="; ".join(refused[:10]))

    @api.model
    def _job_obtain_statements(self, batch):
        """Import the statements of the funding account that the bank has ready."""

        def work():
            connector, account = batch.connector_id, batch.funding_account_number
            Statement = self.env["g2p.payment.statement"].sudo()
            # Ask for a new statement when the last one asked for is already
            # imported: it was written before the bank executed (all of) the batch.
            if connector.ask_statement and (
                not batch.statement_request_ref
                or Statement.search_count(
                    [
                        ("connector_id", "=", connector.id),
                        ("name", "=", batch.statement_request_ref),
                    ]
                )
            ):
                reference = connector.request_statement(account)
                batch._as_process().statement_request_ref = reference
            refs = list(connector.list_statements(account))
            if batch.statement_request_ref:
                refs.append(batch.statement_request_ref)
            known = set(
                Statement.search(
                    [("connector_id", "=", connector.id), ("name", "in", refs)]
                ).mapped("name")
            )
            imported, waiting, failed, refused = 0, 0, [], []
            for ref in dict.fromkeys(refs):
                if ref in known:
                    continue
                try:
                    text = connector.fetch_statement(ref)
                except G2PBankConnectorError as error:
                    if error.code != "STATEMENT_FAILED":
                        raise
                    # Its entries are in the bank's next statement: ask for one.
                    failed.append(ref)
                    if ref == batch.statement_request_ref:
                        batch._as_process().statement_request_ref = False
                    continue
                if text is None:
                    waiting += 1
                    continue
                if Statement.search_count([("text_hash", "=", statement_hash(text))]):
                    continue  # imported otherwise (pushed, uploaded by hand)
                try:
                    Statement._import_text(text, "connector", connector, ref)
                except StatementRefused as error:
                    refused.append(error.args[0])
                    continue
                imported += 1
            message = _(
                "Statements: %(i)s imported, %(w)s not ready yet at the bank.",
                i=imported,
                w=waiting,
            )
            if failed:
                message += " " + _(
                    "The bank could not write %(s)s: skipped.", s=", ".join(failed)
                )
            for reason in refused:
                message += " " + _("Refused: %(r)s", r=reason)
            batch.message_post(body=message)
            self._enqueue(batch, "_job_reconcile")
            return _("%(i)s statements imported.", i=imported)

        return self._run_step(batch, ("sent", "partially_reconciled"), work)

    @api.model
    def _job_reconcile(self, batch):
        """Reconcile the received statements; ask again later while payments of
        the batch have no outcome yet (a bounded number of times)."""

        def work():
            # Whoever imported them: fetched, pushed or uploaded by hand.
            accounts = statement_accounts(batch.funding_account_number)
            statements = self.env["g2p.payment.statement"].search(
                [
                    ("state", "=", "received"),
                    "|",
                    ("connector_id", "=", batch.connector_id.id),
                    ("account_number", "in", list(accounts)),
                ],
                order="id",
            )
            for statement in statements:
                statement._reconcile()
            batch._settle()
            if batch.sent_count and batch.statement_attempts < MAX_STATEMENT_ATTEMPTS:
                attempts = batch.statement_attempts + 1
                batch._as_process().statement_attempts = attempts
                # Not the batch's step while it waits: the officer may obtain
                # statements meanwhile, and a batch reconciled meanwhile (a pushed
                # statement) is not shown busy; it then finds nothing to do.
                self._enqueue(
                    batch,
                    "_job_obtain_statements",
                    eta=timedelta(
                        seconds=min(
                            STATEMENT_FIRST_RETRY_SECONDS * 2 ** (attempts - 1),
                            STATEMENT_LONGEST_RETRY_SECONDS,
                        )
                    ),
                    step=False,
                )
            elif batch.sent_count:
                self._warn_without_outcome(batch)
            return _(
                "%(p)s paid, %(f)s failed, %(w)s without outcome yet.",
                p=batch.paid_count,
                f=batch.failed_count,
                w=batch.sent_count,
            )

        return self._run_step(batch, ("sent", "partially_reconciled"), work)

    @api.model
    def _warn_without_outcome(self, batch):
        """The batch has stopped asking for statements while payments still have no
        outcome: a warning activity for the officer who created it (one at a time),
        saying where the statements may be. Without it the batch stayed partially
        reconciled in silence, e.g. when the bank pushes its statements elsewhere
        (a bank over HTTP reports a payment in the statement it writes after
        executing it, and in no later one)."""
        warning = self.env.ref("mail.mail_activity_data_warning")
        if batch.activity_ids.filtered(lambda a: a.activity_type_id == warning):
            return
        batch.activity_schedule(
            activity_type_id=warning.id,
            user_id=batch.create_uid.id,
            summary=_(
                "%(n)s without outcome", n=batch._payments_label(batch.sent_count)
            ),
            note=_(
                "No statement of the bank has reported %(n)s of %(b)s after "
                "%(a)s requests over about an hour; the batch no longer asks. Check "
                "that the bank pushes its statements to the upload URL of the "
                "connector %(c)s, or upload the bank's statements (G2P Payments → "
                "Statements), then Obtain statements.",
                n=batch._payments_label(batch.sent_count),
                b=batch.name,
                a=batch.statement_attempts,
                c=batch.connector_id.name,
            ),
        )
