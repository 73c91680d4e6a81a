import logging
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from psycopg2 import OperationalError

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError

from ..exceptions import G2PSimBankError
from ..transactions import read_committed

_logger = logging.getLogger(__name__)

#: Longest text the services accept in a field (references have their own limits).
MAX_TEXT = 255
#: Longest payment (or deposit) reference: the :86: line that carries it has 65.
MAX_REFERENCE = 64
#: Control characters (C0, DEL, C1) and Unicode line breaks: every text of the services
#: is one line. NUL cannot be stored by PostgreSQL, and a line break in a narrative
#: would move the MT940 :86: lines the clients read by position.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: An MT940 amount is 15 characters, the decimal comma included (mt940/writer.py):
#: amounts and balances stay below 10 ** (14 - the currency's decimals).
MT940_AMOUNT_DIGITS = 14


class G2PSimBank(models.AbstractModel):
    """The simulated sponsor bank's services (the example-bank contract, in Python).

    Every method is one use case in the caller's transaction: it returns records or
    raises ``G2PSimBankError`` (with a stable ``code``) before writing anything. Callers
    must be bank operators (the REST layer's API user, or ``sudo()`` for in-database
    connectors). Balances are updated in SQL under row locks taken in id order
    (accounts, then blocks).
    """

    _name = "g2p.sim.bank"
    _description = "Simulated bank services"

    # ------------------------------------------------------------------ helpers
    @api.model
    def _check_operator(self):
        if not (
            self.env.su or self.env.user.has_group("g2p_bank_simulator.group_operator")
        ):
            raise AccessError(
                self.env._("Only bank operators may use the bank's services.")
            )

    @api.model
    def _to_amount(self, value, currency):
        """Normalise an amount to a Decimal with at most the currency's decimals."""
        if isinstance(value, bool) or not isinstance(
            value, Decimal | int | str | float
        ):
            raise G2PSimBankError(
                "INVALID_AMOUNT",
                self.env._("The amount %(v)r is not a number.", v=value),
            )
        try:
            # str() of a float is its shortest exact repr: no float arithmetic here.
            amount = value if type(value) is Decimal else Decimal(str(value).strip())
        except InvalidOperation:
            raise G2PSimBankError(
                "INVALID_AMOUNT",
                self.env._("The amount %(v)r is not a number.", v=value),
            ) from None
        if not amount.is_finite() or amount <= 0:
            raise G2PSimBankError(
                "INVALID_AMOUNT",
                self.env._("The amount must be a positive number, got %(v)s.", v=value),
            )
        places = currency.decimal_places
        try:
            exact = amount == amount.quantize(Decimal(1).scaleb(-places))
        except InvalidOperation:  # more digits than Decimal's 28
            raise G2PSimBankError(
                "INVALID_AMOUNT",
                self.env._("The amount %(v)s is too large.", v=value),
            ) from None
        if not exact:
            raise G2PSimBankError(
                "INVALID_AMOUNT",
                self.env._(
                    "The amount %(v)s has more than %(d)s decimals allowed by %(c)s.",
                    v=value,
                    d=places,
                    c=currency.name,
                ),
            )
        limit = self._amount_limit(currency)
        if amount >= limit:
            largest = limit - Decimal(1).scaleb(-places)
            raise G2PSimBankError(
                "INVALID_AMOUNT",
                self.env._(
                    "The amount %(v)s is too large: a statement carries at most "
                    "%(m)s %(c)s.",
                    # In plain digits (1E+12 says less to a reader), unless absurd.
                    v=f"{amount:f}" if amount.adjusted() < 40 else value,
                    m=f"{largest:,.{places}f}",
                    c=currency.name,
                ),
            )
        # At the currency's scale: "1.000" or 200.5 are stored and reported as 1.00
        # and 200.50, like every other amount of the bank.
        return amount.quantize(Decimal(1).scaleb(-places))

    @api.model
    def _amount_limit(self, currency):
        """The first amount (and balance) of ``currency`` that an MT940 statement
        cannot carry."""
        return Decimal(10) ** (MT940_AMOUNT_DIGITS - currency.decimal_places)

    @api.model
    def _today(self):
        """The bank's booking date: today in UTC, whoever calls (a caller's time zone
        would date entries, statements and expiries differently per user)."""
        return fields.Date.today()  # Odoo runs in UTC (odoo/__init__.py sets TZ)

    @api.model
    def _text(self, value, name, required=False, limit=MAX_TEXT):
        """``value`` stripped, None when empty; raise when it is not text or too long
        (or empty when ``required``), or has a control character (even at an end,
        where stripping would hide it)."""
        if isinstance(value, str):
            self._check_one_line(value, name)
            value = value.strip()
        if value is None or value == "":
            if required:
                raise G2PSimBankError(
                    "INVALID_REQUEST",
                    self.env._("The field %(f)s is required.", f=name),
                )
            return None
        if not isinstance(value, str) or len(value) > limit:
            raise G2PSimBankError(
                "INVALID_REQUEST",
                self.env._(
                    "The field %(f)s must be text of at most %(n)s characters.",
                    f=name,
                    n=limit,
                ),
            )
        return value

    @api.model
    def _check_one_line(self, value, name):
        """Refuse a text with a control character or a line break in it."""
        found = CONTROL_CHARACTERS.search(value)
        if found:
            raise G2PSimBankError(
                "INVALID_REQUEST",
                self.env._(
                    "The field %(f)s contains the control character %(c)s at position "
                    "%(p)s: texts are one line of printable characters.",
                    f=name,
                    c=f"U+{ord(found.group()):04X}",
                    p=found.start() + 1,
                ),
            )

    @api.model
    def _find_account(self, account_number):
        """``(account, available balance)``: the account (sudo) with this number and
        its available balance as it is now (exact); else ACCOUNT_NOT_FOUND.

        The fund checks are the bank's busiest calls: one query reads what the
        services need of the account and of its currency, and leaves it in the
        records' cache.
        """
        number = self._text(account_number, "account_number", required=True)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT a.id, a.state, a.currency_id, c.name, c.decimal_places,
                          a.available_balance::text
                     FROM g2p_sim_account a JOIN res_currency c ON c.id = a.currency_id
                    WHERE a.account_number = %s""",
                number,
            )
        )
        row = self.env.cr.fetchone()
        if not row:
            raise G2PSimBankError(
                "ACCOUNT_NOT_FOUND",
                self.env._("Account %(a)s does not exist.", a=number),
            )
        account_id, state, currency_id, currency_name, places, available = row
        account = self.env["g2p.sim.account"].sudo().browse(account_id)
        currency = self.env["res.currency"].browse(currency_id)
        for record, field, value in (
            (account, "account_number", number),
            (account, "state", state),
            (account, "currency_id", currency_id),
            (currency, "name", currency_name),
            (currency, "decimal_places", places),
        ):
            self.env.cache.insert_missing(record, record._fields[field], [value])
        return account, Decimal(available)

    @api.model
    def _get_account(self, account_number, currency):
        """``(account, available balance)`` of an account that is active and in
        ``currency``."""
        account, available = self._find_account(account_number)
        if account.state != "active":
            raise G2PSimBankError(
                "ACCOUNT_NOT_ACTIVE",
                self.env._(
                    "Account %(a)s is %(s)s.", a=account.account_number, s=account.state
                ),
            )
        if account.currency_id.name != currency:
            raise G2PSimBankError(
                "CURRENCY_MISMATCH",
                self.env._(
                    "Account %(a)s is in %(c)s, not %(x)s.",
                    a=account.account_number,
                    c=account.currency_id.name,
                    x=currency,
                ),
            )
        return account, available

    @api.model
    def _decimals(self, table, columns, ids):
        """Read numeric columns exactly (Odoo's cursor turns numeric into float)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT id, %s FROM %s WHERE id = ANY(%s)",
                SQL(", ").join(SQL("%s::text", SQL.identifier(c)) for c in columns),
                SQL.identifier(table),
                list(ids),
            )
        )
        return {
            row[0]: dict(zip(columns, map(Decimal, row[1:]), strict=True))
            for row in self.env.cr.fetchall()
        }

    # ------------------------------------------------------------------ funds
    @api.model
    def check_funds(self, account_number, currency, amount):
        """True when the account can pay ``amount`` from its available balance."""
        self._check_operator()
        account, available = self._get_account(account_number, currency)
        return available >= self._to_amount(amount, account.currency_id)

    @api.model
    def block_funds(
        self, account_number, currency, amount, reference=None, expiry_date=None
    ):
        """Move ``amount`` from available to blocked; return the new (or same) block.

        ``reference`` is an idempotency key: the same reference with the same account
        and amount returns the first block; other content is DUPLICATE_REFERENCE.
        """
        self._check_operator()
        account, _available = self._get_account(account_number, currency)
        amount = self._to_amount(amount, account.currency_id)
        reference = self._text(reference, "reference", limit=16)
        if expiry_date:
            try:
                expiry_date = fields.Date.to_date(expiry_date)
            except (TypeError, ValueError):
                expiry_date = None
            if not isinstance(expiry_date, date) or expiry_date < self._today():
                raise G2PSimBankError(
                    "INVALID_REQUEST",
                    self.env._("The expiry date must be a date that has not passed."),
                )
        Block = self.env["g2p.sim.fund.block"].sudo()
        if reference:
            block = Block.search([("reference", "=", reference)], limit=1)
            if block:
                known = self._decimals("g2p_sim_fund_block", ["amount"], block.ids)
                if block.account_id == account and known[block.id]["amount"] == amount:
                    return self._replayed_block(block)
                raise G2PSimBankError(
                    "DUPLICATE_REFERENCE",
                    self.env._(
                        "The block reference %(r)s is already used for another block.",
                        r=reference,
                    ),
                )
        # The block first, the account last: the account's row stays locked only from
        # the conditional update to the commit, not while the block is written. No
        # savepoint (two more round trips, one under the lock): a racing duplicate
        # reference inserts nothing, a refused update deletes the block it wrote.
        block_id, reference = self._insert_block(
            account, amount, reference, expiry_date
        )
        if not block_id:
            raise G2PSimBankError(
                "DUPLICATE_REFERENCE",
                self.env._(
                    "A concurrent request is creating the block %(r)s: ask again to "
                    "get it.",
                    r=reference,
                ),
            )
        block = Block.browse(block_id)
        # What was just written: callers answer it without reading it back.
        self.env.cache.insert_missing(block, Block._fields["reference"], [reference])
        try:
            self._move_to_blocked(account, amount)
        except G2PSimBankError:
            self.env.cr.execute(
                SQL("DELETE FROM g2p_sim_fund_block WHERE id = %s", block_id)
            )
            block.invalidate_recordset()
            raise
        account.invalidate_recordset(["blocked_amount", "available_balance"])
        return block

    @api.model
    def _replayed_block(self, block):
        """``block`` for a repeated block_funds, if its money is still blocked (or was
        paid out from it); a released or expired block blocks nothing any more, and
        answering "success" would send the client to pay from it."""
        expired = block.expiry_date and block.expiry_date < self._today()
        if block.state in ("released", "expired") or expired:
            raise G2PSimBankError(
                "BLOCK_NOT_ACTIVE",
                self.env._(
                    "The fund block %(r)s was %(s)s: nothing is blocked under this "
                    "reference any more. Block the funds with a new reference.",
                    r=block.reference,
                    s="expired" if expired else block.state,
                ),
            )
        return block

    @api.model
    def _insert_block(self, account, amount, reference, expiry_date):
        """The new block's id and reference; no id when a concurrent request has
        just created a block with the same ``reference``."""
        if reference:
            return self._insert_block_as(account, amount, reference, expiry_date)
        # A client may have chosen a reference of our generated form: generated
        # references skip those (each one was taken by one request: this ends).
        sequence = self.env["ir.sequence"].sudo().browse(self._block_sequence_id())
        block_id = None
        while not block_id:
            block_id, reference = self._insert_block_as(
                account, amount, sequence._next(), expiry_date
            )
        return block_id, reference

    @api.model
    def _insert_block_as(self, account, amount, reference, expiry_date):
        # Money goes to the database as Decimal, not through the ORM's float fields.
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """INSERT INTO g2p_sim_fund_block
                   (reference, account_id, currency_id, amount, amount_consumed,
                    amount_released, amount_reserved, amount_remaining, state,
                    expiry_date, create_uid, create_date, write_uid, write_date)
                   VALUES (%(ref)s, %(account)s, %(currency)s, %(amount)s, 0, 0, 0,
                           %(amount)s, 'active', %(expiry)s, %(uid)s, %(now)s,
                           %(uid)s, %(now)s)
                   ON CONFLICT (reference) DO NOTHING
                   RETURNING id""",
                ref=reference,
                account=account.id,
                currency=account.currency_id.id,
                amount=amount,
                expiry=expiry_date or None,
                uid=self.env.uid,
                now=now,
            )
        )
        row = self.env.cr.fetchone()
        return (row and row[0]), reference

    @api.model
    @tools.ormcache()
    def _block_sequence_id(self):
        """The fund blocks' sequence (ids do not change: the search once per
        process, not once per block)."""
        return (
            self.env["ir.sequence"]
            .sudo()
            .search([("code", "=", "g2p.sim.fund.block")], limit=1)
            .id
        )

    @api.model
    def _move_to_blocked(self, account, amount):
        # A conditional update: the row lock and the check in one statement.
        self.env.cr.execute(
            SQL(
                """UPDATE g2p_sim_account
                      SET blocked_amount = blocked_amount + %(amount)s,
                          available_balance = available_balance - %(amount)s
                    WHERE id = %(id)s AND available_balance >= %(amount)s
                RETURNING id""",
                amount=amount,
                id=account.id,
            )
        )
        if not self.env.cr.fetchone():
            raise G2PSimBankError(
                "INSUFFICIENT_FUNDS",
                self.env._(
                    "Account %(a)s has not enough available funds to block %(x)s.",
                    a=account.account_number,
                    x=amount,
                ),
            )

    @api.model
    def release_block(self, reference):
        """Return the block's free remaining amount to the account's available balance.

        What batches already reserved stays blocked for them; they consume it later.
        """
        self._check_operator()
        reference = self._text(reference, "reference", required=True)
        block = (
            self.env["g2p.sim.fund.block"]
            .sudo()
            .search([("reference", "=", reference)], limit=1)
        )
        if not block:
            raise G2PSimBankError(
                "BLOCK_NOT_FOUND",
                self.env._("Fund block %(r)s does not exist.", r=reference),
            )
        return self._release(block, "released")

    @api.model
    def _release(self, block, state):
        reference = block.reference
        cr = self.env.cr
        self.env.flush_all()
        # Lock order: account, then block (as everywhere else).
        cr.execute(
            SQL(
                "SELECT id FROM g2p_sim_account WHERE id = %s FOR NO KEY UPDATE",
                block.account_id.id,
            )
        )
        cr.execute(
            SQL(
                """SELECT state, (amount_remaining - amount_reserved)::text
                     FROM g2p_sim_fund_block WHERE id = %s FOR NO KEY UPDATE""",
                block.id,
            )
        )
        block_state, free = cr.fetchone()
        if block_state != "active":
            said = {
                "released": self.env._("was already released"),
                "expired": self.env._("has expired"),
                "consumed": self.env._("was used up by payments"),
            }
            raise G2PSimBankError(
                "BLOCK_NOT_ACTIVE",
                self.env._(
                    "Fund block %(r)s %(s)s: nothing is left to release.",
                    r=reference,
                    s=said.get(block_state, block_state),
                ),
            )
        cr.execute(
            SQL(
                """UPDATE g2p_sim_fund_block
                      SET amount_released = amount_released + %(free)s,
                          amount_remaining = amount_remaining - %(free)s,
                          state = %(state)s
                    WHERE id = %(id)s""",
                free=Decimal(free),
                state=state,
                id=block.id,
            )
        )
        cr.execute(
            SQL(
                """UPDATE g2p_sim_account
                      SET blocked_amount = blocked_amount - %(free)s,
                          available_balance = available_balance + %(free)s
                    WHERE id = %(id)s""",
                free=Decimal(free),
                id=block.account_id.id,
            )
        )
        self.env.invalidate_all()
        return block

    @api.model
    def _cron_expire_blocks(self):
        """The daily cron: enqueue the job that expires blocks (once).

        A job, because the cron's transaction has already read its server action
        when it calls this, so it cannot run under READ COMMITTED: there, a
        block_funds on the same account made the whole run fail with a
        serialization error, and the blocks stayed until the next day."""
        return (
            self.sudo()
            .with_delay(
                channel="root.g2p_bank_simulator",
                identity_key="g2p_sim_expire_blocks",
                description=self.env._("Expire fund blocks"),
            )
            ._expire_blocks()
        )

    @api.model
    def _expire_blocks(self):
        """The job: release the free part of blocks whose expiry date has passed."""
        read_committed(self.env.cr)
        blocks = (
            self.env["g2p.sim.fund.block"]
            .sudo()
            .search(
                [("state", "=", "active"), ("expiry_date", "<", self._today())],
                order="id",
            )
        )
        expired = 0
        for block in blocks:
            try:
                with self.env.cr.savepoint():
                    self.sudo()._release(block, "expired")
                expired += 1
            except G2PSimBankError:
                continue  # released or used up by its client meanwhile
        return self.env._("%(n)s fund blocks expired.", n=expired)

    # ------------------------------------------------------------------ payments
    @api.model
    def initiate_payment(self, payment_dicts):
        """Record a list of example-bank payment requests as ONE batch; enqueue its job.

        Validates everything first and writes nothing on any error. A full replay of
        an earlier request returns its batch unchanged; a mix of new and known
        references, or a known reference with other content, is DUPLICATE_REFERENCE.
        """
        self._check_operator()
        intake = self.env["g2p.sim.payment.intake"]
        payments = intake._normalise(payment_dicts)
        if intake._may_be_replay(payments):
            replayed = intake._replayed_batch(payments)
            if replayed is not None:
                return replayed
        per_block, currency = intake._check(payments)
        batch, is_new = intake._reserve_and_record(payments, per_block, currency)
        if is_new:
            self._enqueue_batch(batch)
        return batch

    @api.model
    def _enqueue_batch(self, batch, retry=0):
        return (
            self.sudo()
            .with_delay(
                channel="root.g2p_bank_simulator",
                identity_key=f"g2p_sim_process_batch_{batch.id}_{retry}",
                description=self.env._("Process payment batch %(b)s", b=batch.name),
            )
            .process_batch(batch)
        )

    @api.model
    def process_batch(self, batch):
        """The job body: execute the pending payments of ``batch``, set-based, in one
        transaction (so a killed worker leaves nothing half done and a retry starts
        clean). A batch already done is left alone. Then enqueue a statement for each
        remitting account, as the example bank does."""
        read_committed(self.env.cr)
        # The bank's back office runs the job: rights were checked when it was recorded.
        batch = batch.sudo().exists()
        if not batch:
            return self.env._("The batch no longer exists.")
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            SQL(
                "SELECT state FROM g2p_sim_payment_batch WHERE id = %s "
                "FOR NO KEY UPDATE",
                batch.id,
            )
        )
        if cr.fetchone()[0] == "done":
            return self.env._("Batch %(b)s was already processed.", b=batch.name)
        try:
            with cr.savepoint():
                batch._process()
        except (OperationalError, RetryableJobError):
            raise  # concurrency: queue_job retries the whole job
        except Exception as error:
            _logger.exception("Payment batch %s failed", batch.name)
            batch.invalidate_recordset()
            batch.write(
                {
                    "state": "failed",
                    "error": str(error),
                    "attempt_count": batch.attempt_count + 1,
                }
            )
            return self.env._("Batch %(b)s failed: %(e)s", b=batch.name, e=error)
        cr.execute(
            SQL(
                """SELECT DISTINCT a.account_number FROM g2p_sim_payment p
                     JOIN g2p_sim_account a ON a.id = p.account_id
                    WHERE p.batch_id = %s ORDER BY 1""",
                batch.id,
            )
        )
        for (account_number,) in cr.fetchall():
            self.sudo().generate_statement(account_number)
        return self.env._(
            "Batch %(b)s: %(s)s paid, %(f)s failed.",
            b=batch.name,
            s=batch.success_count,
            f=batch.failed_count,
        )

    # ------------------------------------------------------------------ statements
    @api.model
    def generate_statement(self, account_number):
        """Create a pending statement of the account's unreported entries and enqueue
        its generation (channel root.g2p_bank_simulator.statement). Accounts in any
        state have statements."""
        self._check_operator()
        account, _available = self._find_account(account_number)
        statement = (
            self.env["g2p.sim.statement"].sudo().create({"account_id": account.id})
        )
        statement.with_delay(
            channel="root.g2p_bank_simulator.statement",
            identity_key=f"g2p_sim_statement_{statement.id}",
            description=self.env._("Statement %(s)s", s=statement.name),
        )._job_generate()
        return statement

    @api.model
    def get_statement(self, reference):
        """The statement with this reference (account_statement_id)."""
        self._check_operator()
        statement = (
            self.env["g2p.sim.statement"]
            .sudo()
            .search([("name", "=", self._text(reference, "reference", True))], limit=1)
        )
        if not statement:
            raise G2PSimBankError(
                "STATEMENT_NOT_FOUND",
                self.env._("Statement %(s)s does not exist.", s=reference),
            )
        return statement
