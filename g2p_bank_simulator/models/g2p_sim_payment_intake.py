import csv
import io
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from operator import itemgetter

from psycopg2.errors import UniqueViolation
from psycopg2.extras import execute_values

from odoo import api, fields, models
from odoo.tools import SQL

from ..exceptions import G2PSimBankError
from .g2p_sim_bank import MAX_REFERENCE, MAX_TEXT
from .g2p_sim_payment import ACCOUNT_TYPES

PAYMENT_REQUIRED = (
    "payment_reference_number",
    "remitting_account",
    "remitting_account_currency",
    "payment_amount",
    "funds_blocked_reference_number",
    "beneficiary_account",
    "beneficiary_account_type",
)
PAYMENT_TEXT = (
    "beneficiary_name",
    "beneficiary_account_currency",
    "beneficiary_bank_code",
    "beneficiary_branch_code",
    "beneficiary_mobile_wallet_provider",
    "beneficiary_phone_no",
    "beneficiary_email",
    "beneficiary_email_wallet_provider",
    "narrative_1",
    "narrative_2",
    "narrative_3",
    "narrative_4",
    "narrative_5",
    "narrative_6",
    "payment_date",
)
#: Columns of g2p_sim_payment written by initiate_payment, in insert order (the
#: texts, from payment_reference_number on, are what a replay compares).
PAYMENT_COLUMNS = (
    "batch_id",
    "account_id",
    "block_id",
    "payment_amount",
    *(name for name in PAYMENT_REQUIRED if name != "payment_amount"),
    *PAYMENT_TEXT,
)
#: The stored texts of a payment a replay must repeat (the reference first).
REPLAY_TEXT = PAYMENT_COLUMNS[4:]
#: The kinds of raw amount whose check is remembered within a request.
AMOUNT_KINDS = (str, int, Decimal)
#: (name, required, longest) of each text field of a payment request.
PAYMENT_TEXT_FIELDS = (
    *(
        (name, True, MAX_REFERENCE if name == "payment_reference_number" else MAX_TEXT)
        for name in PAYMENT_REQUIRED
        if name != "payment_amount"
    ),
    *((name, False, MAX_TEXT) for name in PAYMENT_TEXT),
)


class G2PSimPaymentIntake(models.AbstractModel):
    """How ``initiate_payment`` takes a list of payment requests in: shape checks,
    replay detection, accounts and blocks, the block reservation, the bulk insert.

    Called by ``g2p.sim.bank.initiate_payment`` (which checks the caller's rights);
    every method raises ``G2PSimBankError`` before anything is written.
    """

    _name = "g2p.sim.payment.intake"
    _description = "Simulated bank payment intake"

    @api.model
    def _normalise(self, payment_dicts):
        """Check the shape of every payment; return clean dicts (amounts still raw)."""
        if not isinstance(payment_dicts, list | tuple) or not payment_dicts:
            raise G2PSimBankError(
                "INVALID_REQUEST",
                self.env._("Send a non-empty list of payment requests."),
            )
        types = {code for code, _label in ACCOUNT_TYPES}
        text = self.env["g2p.sim.bank"]._text
        clean, seen = [], set()
        for index, raw in enumerate(payment_dicts, start=1):
            if not isinstance(raw, dict):
                raise G2PSimBankError(
                    "INVALID_REQUEST",
                    self.env._("Payment request %(i)s is not an object.", i=index),
                )
            payment = {"payment_amount": raw.get("payment_amount")}
            if payment["payment_amount"] in (None, ""):
                raise G2PSimBankError(
                    "INVALID_REQUEST",
                    self.env._("Payment request %(i)s has no payment_amount.", i=index),
                )
            for name, required, limit in PAYMENT_TEXT_FIELDS:
                value = raw.get(name)
                # The usual case inline (a request of 10,000 payments has 220,000 of
                # these fields); anything else gets _text's checks and messages.
                # isprintable() is False for every control character (and for some
                # harmless ones, such as a no-break space, that _text accepts).
                if type(value) is str and len(value) <= limit and value.isprintable():
                    value = value.strip()
                    if value:
                        payment[name] = value
                        continue
                elif (
                    not required
                    and isinstance(value, int | Decimal)
                    and not isinstance(value, bool)
                ):
                    value = str(value)  # e.g. a phone number sent as a number
                try:
                    payment[name] = text(value, name, required, limit)
                except G2PSimBankError as error:
                    # Which of 10,000 payments: its position in the request.
                    raise G2PSimBankError(
                        error.code,
                        self.env._(
                            "Payment request %(i)s: %(e)s", i=index, e=error.args[0]
                        ),
                    ) from None
            if payment["beneficiary_account_type"] not in types:
                raise G2PSimBankError(
                    "INVALID_REQUEST",
                    self.env._(
                        "Payment %(r)s: beneficiary_account_type must be one of %(t)s.",
                        r=payment["payment_reference_number"],
                        t=", ".join(sorted(types)),
                    ),
                )
            if payment["payment_reference_number"] in seen:
                raise G2PSimBankError(
                    "INVALID_REQUEST",
                    self.env._(
                        "The payment reference %(r)s appears twice in the request.",
                        r=payment["payment_reference_number"],
                    ),
                )
            seen.add(payment["payment_reference_number"])
            clean.append(payment)
        return clean

    @api.model
    def _may_be_replay(self, payments):
        """Whether the first reference is known: a replay names known references only,
        so a request whose first reference is new is new (or mixes in known
        references, which the unique index finds when it is recorded). One index
        lookup instead of one per payment."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM g2p_sim_payment WHERE payment_reference_number = %s",
                payments[0]["payment_reference_number"],
            )
        )
        return bool(self.env.cr.rowcount)

    @api.model
    def _reserve_and_record(self, payments, per_block, currency):
        """``(batch, True)`` for a new batch. When the insert meets known references
        (new ones mixed with known ones, or the same request recorded by a concurrent
        call that committed first), nothing of this request stays, and the answer is
        a replay's: ``(earlier batch, False)``, or DUPLICATE_REFERENCE."""
        try:
            with self.env.cr.savepoint():
                self._reserve(per_block)
                return self._record(payments, per_block, currency), True
        except UniqueViolation:
            replayed = self._replayed_batch(payments)
        except G2PSimBankError as error:
            # The same request, sent again while the first was being recorded, waited
            # for the block's row; under READ COMMITTED it then finds the block
            # reserved by the first one (BLOCK_EXCEEDED) before meeting its
            # references. Its answer is the first one's batch, not a failure that
            # would make a client pay again under new references.
            replayed = None
            if error.code in ("BLOCK_EXCEEDED", "BLOCK_NOT_ACTIVE"):
                replayed = self._replayed_batch(payments)
            if replayed is None:
                raise
            return replayed, False
        if replayed is None:  # not visible to this transaction, or since deleted
            raise G2PSimBankError(
                "DUPLICATE_REFERENCE",
                self.env._(
                    "Some of these payment references were recorded by another request "
                    "at the same time; nothing was recorded for this one."
                ),
            )
        return replayed, False

    @api.model
    def _replayed_batch(self, payments):
        """The batch of an exact replay, None when all references are new; or raise.

        A replay is the same request: the same references, all of one earlier batch
        and all of it, each with the same content in every field the bank stores.
        One query for the whole request; the comparison is in memory."""
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            SQL(
                """SELECT p.batch_id, b.name, b.payment_count, p.payment_amount::text,
                          %s
                     FROM g2p_sim_payment p
                     JOIN g2p_sim_payment_batch b ON b.id = p.batch_id
                    WHERE p.payment_reference_number = ANY(%s)""",
                SQL(", ").join(SQL("p.%s", SQL.identifier(n)) for n in REPLAY_TEXT),
                [p["payment_reference_number"] for p in payments],
            )
        )
        # reference -> (batch id, batch name, batch size, amount, *texts)
        known = {row[4]: row for row in cr.fetchall()}
        if not known:
            return None
        problem = self._replay_problem(payments, known)
        if problem:
            refs = sorted(known)
            raise G2PSimBankError(
                "DUPLICATE_REFERENCE",
                self.env._(
                    "%(n)s payment reference(s) are already known and the request is "
                    "not an exact replay of one earlier request (%(p)s); nothing was "
                    "recorded. Known references: %(r)s",
                    n=len(refs),
                    p=problem,
                    r=", ".join(refs[:10]) + (" ..." if len(refs) > 10 else ""),
                ),
            )
        return (
            self.env["g2p.sim.payment.batch"]
            .sudo()
            .browse(known[payments[0]["payment_reference_number"]][0])
        )

    @api.model
    def _replay_problem(self, payments, known):
        """Why ``payments`` is not a replay of the recorded ``known`` rows, or None."""
        new = [p["payment_reference_number"] for p in payments]
        new = [ref for ref in new if ref not in known]
        if new:
            return self.env._(
                "%(n)s reference(s) are new, e.g. %(r)s", n=len(new), r=new[0]
            )
        batches = {row[1] for row in known.values()}
        if len(batches) > 1:
            return self.env._(
                "the references were recorded in %(n)s batches: %(b)s",
                n=len(batches),
                b=", ".join(sorted(batches)),
            )
        _id, name, size = next(iter(known.values()))[:3]
        if size != len(payments):
            return self.env._(
                "batch %(b)s has %(s)s payments, the request %(n)s",
                b=name,
                s=size,
                n=len(payments),
            )
        for p in payments:
            row = known[p["payment_reference_number"]]
            if not self._same_amount(p["payment_amount"], row[3]):
                return self._differs(p, "payment_amount", row[3])
            if tuple(p.get(n) for n in REPLAY_TEXT) != row[4:]:
                for name, recorded in zip(REPLAY_TEXT, row[4:], strict=True):
                    if p.get(name) != recorded:
                        return self._differs(p, name, recorded)
        return None

    @api.model
    def _differs(self, payment, name, recorded):
        sent = payment.get(name)
        return self.env._(
            "payment %(r)s has %(f)s %(s)s, recorded as %(k)s",
            r=payment["payment_reference_number"],
            f=name,
            s="(empty)" if sent is None else repr(sent),
            k="(empty)" if recorded is None else repr(recorded),
        )

    @api.model
    def _same_amount(self, raw, recorded):
        try:
            return Decimal(str(raw).strip()) == Decimal(recorded)
        except InvalidOperation:
            return False

    @api.model
    def _check(self, payments):
        """Resolve accounts and blocks (one query each), check them; return the totals
        per block and the batch currency. Sets account_id, block_id and the
        Decimal payment_amount on each payment dict."""
        accounts = {
            a.account_number: a
            for a in self.env["g2p.sim.account"]
            .sudo()
            .search(
                [
                    (
                        "account_number",
                        "in",
                        list({p["remitting_account"] for p in payments}),
                    )
                ]
            )
        }
        blocks = {
            b.reference: b
            for b in self.env["g2p.sim.fund.block"]
            .sudo()
            .search(
                [
                    (
                        "reference",
                        "in",
                        list({p["funds_blocked_reference_number"] for p in payments}),
                    )
                ]
            )
        }
        today = self.env["g2p.sim.bank"]._today()
        to_amount = self.env["g2p.sim.bank"]._to_amount
        # Each account and block is checked once, for the first payment that names
        # it: a request of 10,000 payments names one account and one block or a few.
        checked_accounts, checked_blocks = {}, {}
        per_block = defaultdict(Decimal)
        currencies = set()
        # The amounts of a batch repeat (one benefit level, or a few): each distinct
        # one is checked once per currency.
        amounts = {}
        for p in payments:
            ref = p["payment_reference_number"]
            account_key = (p["remitting_account"], p["remitting_account_currency"])
            if account_key not in checked_accounts:
                checked_accounts[account_key] = self._checked_account(
                    accounts.get(p["remitting_account"]), p
                )
            account, currency = checked_accounts[account_key]
            raw = p["payment_amount"]
            amount_key = self._amount_key(raw, currency)
            amount = amounts.get(amount_key) if amount_key else None
            if amount is None:
                try:
                    amount = to_amount(raw, currency)
                except G2PSimBankError as error:
                    raise G2PSimBankError(
                        error.code,
                        self.env._("Payment %(r)s: %(e)s", r=ref, e=error.args[0]),
                    ) from None
                if amount_key:
                    amounts[amount_key] = amount
            p["payment_amount"] = amount
            block_key = (p["funds_blocked_reference_number"], account.id)
            if block_key not in checked_blocks:
                checked_blocks[block_key] = self._checked_block(
                    blocks.get(p["funds_blocked_reference_number"]), account, p, today
                )
            block_id = checked_blocks[block_key]
            p.update(account_id=account.id, block_id=block_id)
            per_block[block_id] += p["payment_amount"]
            currencies.add(currency)
        if len(currencies) > 1:
            raise G2PSimBankError(
                "INVALID_REQUEST",
                self.env._("All payments of one request must be in the same currency."),
            )
        return per_block, currencies.pop()

    @api.model
    def _amount_key(self, raw, currency):
        """The key under which the check of amount ``raw`` is remembered, or None
        when it is not to be: only plain kinds, the type in the key (True == 1), no
        Decimal NaN (a signalling one cannot be hashed)."""
        if type(raw) not in AMOUNT_KINDS or (
            type(raw) is Decimal and not raw.is_finite()
        ):
            return None
        return type(raw), raw, currency.id

    @api.model
    def _checked_account(self, account, payment):
        """``(account, currency)`` if ``payment`` may be paid from ``account``."""
        ref = payment["payment_reference_number"]
        if not account:
            raise G2PSimBankError(
                "ACCOUNT_NOT_FOUND",
                self.env._(
                    "Payment %(r)s: account %(a)s does not exist.",
                    r=ref,
                    a=payment["remitting_account"],
                ),
            )
        if account.state != "active":
            raise G2PSimBankError(
                "ACCOUNT_NOT_ACTIVE",
                self.env._(
                    "Payment %(r)s: account %(a)s is not active.",
                    r=ref,
                    a=account.account_number,
                ),
            )
        if account.currency_id.name != payment["remitting_account_currency"]:
            raise G2PSimBankError(
                "CURRENCY_MISMATCH",
                self.env._(
                    "Payment %(r)s: account %(a)s is in %(c)s, not %(x)s.",
                    r=ref,
                    a=account.account_number,
                    c=account.currency_id.name,
                    x=payment["remitting_account_currency"],
                ),
            )
        return account, account.currency_id

    @api.model
    def _checked_block(self, block, account, payment, today):
        """The id of ``block`` if ``payment`` may use it (on ``account``)."""
        ref = payment["payment_reference_number"]
        if not block or block.account_id != account:
            raise G2PSimBankError(
                "BLOCK_NOT_FOUND",
                self.env._(
                    "Payment %(r)s: account %(a)s has no fund block %(b)s.",
                    r=ref,
                    a=account.account_number,
                    b=payment["funds_blocked_reference_number"],
                ),
            )
        if block.state != "active" or (block.expiry_date and block.expiry_date < today):
            raise G2PSimBankError(
                "BLOCK_NOT_ACTIVE",
                self.env._(
                    "Payment %(r)s: fund block %(b)s is no longer active.",
                    r=ref,
                    b=block.reference,
                ),
            )
        return block.id

    @api.model
    def _reserve(self, per_block):
        """Reserve each block's share of the batch under the block's row lock."""
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            SQL(
                """SELECT id, reference, state,
                          (amount_remaining - amount_reserved)::text
                     FROM g2p_sim_fund_block WHERE id = ANY(%s)
                    ORDER BY id FOR NO KEY UPDATE""",
                list(per_block),
            )
        )
        for block_id, reference, state, free in cr.fetchall():
            if state != "active":
                raise G2PSimBankError(
                    "BLOCK_NOT_ACTIVE",
                    self.env._("Fund block %(b)s is %(s)s.", b=reference, s=state),
                )
            if per_block[block_id] > Decimal(free):
                raise G2PSimBankError(
                    "BLOCK_EXCEEDED",
                    self.env._(
                        "The payments need %(n)s from fund block %(b)s, which has only "
                        "%(f)s left that no other batch has reserved.",
                        n=per_block[block_id],
                        b=reference,
                        f=free,
                    ),
                )
        execute_values(
            cr._obj,
            """UPDATE g2p_sim_fund_block b
                  SET amount_reserved = b.amount_reserved + v.amount
                 FROM (VALUES %s) AS v(id, amount) WHERE b.id = v.id""",
            list(per_block.items()),
            template="(%s::int, %s::numeric)",
        )

    @api.model
    def _record(self, payments, per_block, currency):
        """Insert the batch and its payments (one COPY); return the batch."""
        batch = (
            self.env["g2p.sim.payment.batch"]
            .sudo()
            # Its chatter starts with its first state change: no "created" note (its
            # creation date says it), and the API's user does not follow every batch.
            .with_context(mail_create_nolog=True, mail_create_nosubscribe=True)
            .create(
                {
                    "name": self.env["ir.sequence"]
                    .sudo()
                    .next_by_code("g2p.sim.payment.batch"),
                    "currency_id": currency.id,
                    "payment_count": len(payments),
                }
            )
        )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE g2p_sim_payment_batch SET amount_total = %s WHERE id = %s",
                sum(per_block.values()),
                batch.id,
            )
        )
        now = str(fields.Datetime.now())  # once, not twice per row by csv
        audit = ("pending", self.env.uid, now, self.env.uid, now)
        columns = itemgetter(*PAYMENT_COLUMNS[1:])
        rows = io.StringIO()
        # COPY's CSV format, written by the csv module (in C): None is an empty field,
        # which COPY reads as NULL (_normalise turned empty texts into None); quotes
        # keep separators, quotes and line breaks inside a text as data.
        csv.writer(rows, lineterminator="\r\n").writerows(
            (batch.id, *columns(p), *audit) for p in payments
        )
        rows.seek(0)
        query = SQL(
            "COPY g2p_sim_payment (%s, status, create_uid, create_date, write_uid, "
            "write_date) FROM STDIN WITH (FORMAT csv)",
            SQL(", ").join(SQL.identifier(name) for name in PAYMENT_COLUMNS),
        )
        self.env.cr._obj.copy_expert(query.code, rows)
        batch.invalidate_recordset(["payment_ids", "amount_total"])
        return batch
