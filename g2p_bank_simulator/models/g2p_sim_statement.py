import logging
import tempfile
from decimal import Decimal
from urllib.parse import urlsplit

import requests
from psycopg2 import OperationalError

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError

from ..transactions import read_committed

_logger = logging.getLogger(__name__)

#: Entries read per query while streaming them to the writer.
CHUNK = 5000
MT940_MIMETYPE = "application/x-mt940"
PUSH_TIMEOUT = 30


def is_http_url(url):
    """Whether ``url`` is an http(s) URL with a host (what the push job can post to)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 host
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not any(char.isspace() or not char.isprintable() for char in url)
    )


class G2PSimStatement(models.Model):
    """An MT940 statement of one account: all its ledger entries not reported before.

    Created pending by ``g2p.sim.bank.generate_statement``; the job ``_job_generate``
    fills it in, and ``_job_push`` posts it to the configured upload URL.
    """

    _name = "g2p.sim.statement"
    _description = "Simulated bank MT940 statement"
    _order = "id desc"

    name = fields.Char(
        string="Reference",
        required=True,
        readonly=True,  # UNIQUE: indexed
        default=lambda self: (
            self.env["ir.sequence"].sudo().next_by_code("g2p.sim.statement")
        ),
    )
    account_id = fields.Many2one(
        "g2p.sim.account", required=True, readonly=True, index=True, ondelete="restrict"
    )
    currency_id = fields.Many2one(related="account_id.currency_id", store=True)
    number = fields.Integer(
        string="Statement number",
        readonly=True,
        help="Counts the account's statements. MT940 :28C: has 5 digits: it carries "
        "this number modulo 99999 (after 99999 comes 1).",
    )
    sequence_count = fields.Integer(string="Messages", readonly=True)
    date_from = fields.Date(string="From", readonly=True)
    date_to = fields.Date(string="To", readonly=True)
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
    )
    opening_balance = fields.Monetary(readonly=True)
    closing_balance = fields.Monetary(readonly=True)
    entry_count = fields.Integer(readonly=True)
    ledger_entry_ids = fields.One2many("g2p.sim.ledger.entry", "statement_id")
    # Stored once, in the attachment: a 100,000-entry statement is ~11 MB of text.
    mt940_text = fields.Text(string="MT940", compute="_compute_mt940_text")
    attachment_id = fields.Many2one("ir.attachment", readonly=True)
    error = fields.Text(readonly=True)
    push_state = fields.Selection(
        [
            ("none", "Not pushed"),
            ("pending", "Pending"),
            ("done", "Pushed"),
            ("failed", "Failed"),
        ],
        required=True,
        default="none",
        readonly=True,
    )
    push_date = fields.Datetime(readonly=True)
    push_error = fields.Text(readonly=True)

    _sql_constraints = [
        ("name_uniq", "UNIQUE(name)", "Statement references are unique."),
    ]

    @api.depends("attachment_id")
    def _compute_mt940_text(self):
        for statement in self:
            raw = statement.attachment_id.raw
            statement.mt940_text = raw.decode() if raw else False

    def action_download(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.attachment_id.id}?download=true",
            "target": "self",
        }

    # ------------------------------------------------------------------ generation
    def _job_generate(self):
        """Job: write the MT940 of the account's unreported entries.

        Holds the account's row lock for the whole job, so that two statements of one
        account are never generated at the same time and no entry escapes both.
        """
        read_committed(self.env.cr)
        # The bank's back office runs the job; the request that created it was checked.
        self = self.sudo()  # noqa: PLW0642
        self.ensure_one()
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            SQL(
                "SELECT id FROM g2p_sim_account WHERE id = %s FOR NO KEY UPDATE",
                self.account_id.id,
            )
        )
        cr.execute(
            SQL(
                "SELECT state FROM g2p_sim_statement WHERE id = %s FOR NO KEY UPDATE",
                self.id,
            )
        )
        if cr.fetchone()[0] == "done":
            return self.env._("Statement %(s)s was already generated.", s=self.name)
        try:
            with cr.savepoint():
                self._generate()
        except (OperationalError, RetryableJobError):
            raise
        except Exception as error:
            _logger.exception("Statement %s failed", self.name)
            self.invalidate_recordset()
            self.write({"state": "failed", "error": str(error)})
            return self.env._("Statement %(s)s failed: %(e)s", s=self.name, e=error)
        if self._upload_url():
            self._enqueue_push()
        return self.env._(
            "Statement %(s)s: %(n)s entries.", s=self.name, n=self.entry_count
        )

    def _previous_closing(self):
        """Number, closing balance and closing date of the account's last generated
        statement (0, 0, None before the first)."""
        cr = self.env.cr
        cr.execute(
            SQL(
                """SELECT number, closing_balance::text, date_to FROM g2p_sim_statement
                    WHERE account_id = %s AND state = 'done'
                    ORDER BY number DESC LIMIT 1""",
                self.account_id.id,
            )
        )
        row = cr.fetchone()
        return (row[0], Decimal(row[1]), row[2]) if row else (0, Decimal(0), None)

    def _generate(self):
        from ..mt940 import (
            MAX_NUMBER,
            Mt940Writer,
            StatementHeader,
        )

        cr = self.env.cr
        account = self.account_id
        previous_number, opening, previous_date = self._previous_closing()
        cr.execute(
            SQL(
                """UPDATE g2p_sim_ledger_entry SET statement_id = %s
                    WHERE account_id = %s AND statement_id IS NULL""",
                self.id,
                account.id,
            )
        )
        self.env["g2p.sim.ledger.entry"].invalidate_model(["statement_id"])
        self.invalidate_recordset(["ledger_entry_ids"])
        cr.execute(
            SQL(
                """SELECT min(value_date), count(*)
                     FROM g2p_sim_ledger_entry WHERE statement_id = %s""",
                self.id,
            )
        )
        date_from, count = cr.fetchone()
        # The bank's date (UTC), not the job user's; the statement opens where the
        # previous one closed, and never closes before it opens (a previous statement
        # dated in a time zone ahead of UTC, before the bank booked in UTC).
        opening_date = previous_date or date_from
        today = self.env["g2p.sim.bank"]._today()
        if opening_date and opening_date > today:
            today = opening_date
        cr.execute(
            SQL(
                "SELECT available_balance::text FROM g2p_sim_account WHERE id = %s",
                account.id,
            )
        )
        available = Decimal(cr.fetchone()[0])
        number = previous_number + 1
        header = StatementHeader(
            reference=self.name,
            account=account.account_number,
            # :28C: has 5 digits: after 99999 the written number starts again at 1
            # (``number`` keeps counting, so the last statement is still the highest).
            number=(number - 1) % MAX_NUMBER + 1,
            currency=account.currency_id.name,
            decimals=account.currency_id.decimal_places,
            opening_balance=opening,
            opening_date=opening_date or today,
            closing_date=today,
            available_balance=available,
            available_date=today,
        )
        writer = Mt940Writer(header)
        # Memory stays at the size of the text: the writer streams its messages, the
        # entries are read in chunks, and the text is spooled to a file and read back
        # once, as bytes (MT940 is ASCII), for the attachment. (A BytesIO would hold
        # up to three times the text while growing and copying.)
        with tempfile.TemporaryFile() as spool:
            for message in writer.messages(self._iter_entries()):
                spool.write(message.encode("ascii"))
            spool.seek(0)
            raw = spool.read()
        if writer.entry_count != count:
            raise ValueError(
                self.env._(
                    "The writer wrote %(w)s entries of %(n)s.",
                    w=writer.entry_count,
                    n=count,
                )
            )
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": f"{account.account_number}-{number}.mt940",
                    "raw": raw,
                    # Not text/* (nor octet-stream, which Odoo replaces by the type
                    # it guesses, text/plain): Odoo would build a full-text index of
                    # the file, holding ten times its size in memory.
                    "mimetype": MT940_MIMETYPE,
                    "res_model": self._name,
                    "res_id": self.id,
                }
            )
        )
        self.write(
            {
                "state": "done",
                "number": number,
                "sequence_count": writer.message_count,
                "date_from": date_from or today,
                "date_to": header.closing_date,
                "entry_count": writer.entry_count,
                "attachment_id": attachment.id,
                "error": False,
            }
        )
        self.env.flush_all()
        cr.execute(
            SQL(
                """UPDATE g2p_sim_statement
                      SET opening_balance = %s, closing_balance = %s WHERE id = %s""",
                opening,
                writer.closing_balance,
                self.id,
            )
        )
        self.invalidate_recordset(["opening_balance", "closing_balance"])

    def _iter_entries(self):
        """The statement's entries in id order, read in chunks (constant memory)."""
        from ..mt940 import StatementEntry

        cr = self.env.cr
        last_id = 0
        while True:
            cr.execute(
                SQL(
                    """SELECT id, value_date, entry_date, mark, amount::text,
                              customer_reference, bank_reference, narrative
                         FROM g2p_sim_ledger_entry
                        WHERE statement_id = %s AND id > %s
                        ORDER BY id LIMIT %s""",
                    self.id,
                    last_id,
                    CHUNK,
                )
            )
            rows = cr.fetchall()
            if not rows:
                return
            for row in rows:
                yield StatementEntry(
                    value_date=row[1],
                    entry_date=row[2],
                    mark=row[3],
                    amount=Decimal(row[4]),
                    customer_reference=row[5] or "",
                    bank_reference=row[6],
                    narrative=(row[7] or "").split("\n"),
                )
            last_id = rows[-1][0]

    # ------------------------------------------------------------------ push
    def action_push_again(self):
        """Push a statement whose push failed again (e.g. once the receiver is
        fixed), with a fresh set of retries."""
        self.env["g2p.sim.bank"]._check_operator()
        if not self._upload_url():
            raise UserError(
                self.env._("No statement upload URL is configured in the settings.")
            )
        not_failed = self.filtered(
            lambda st: st.state != "done" or st.push_state != "failed"
        )
        if not_failed:
            raise UserError(
                self.env._(
                    "Only a generated statement whose push failed can be pushed "
                    "again: %(s)s.",
                    s=", ".join(not_failed.mapped("name")),
                )
            )
        # The operator only reads statements: the bank's back office pushes.
        for statement in self.sudo():
            statement._enqueue_push()
        return True

    def _enqueue_push(self):
        """Set the push pending and enqueue its job. The identity key keeps one
        waiting push per statement (a double click enqueues one); it does not stop a
        new push once the previous job has ended."""
        self.push_state = "pending"
        return self.with_delay(
            channel="root.g2p_bank_simulator.statement",
            identity_key=f"g2p_sim_statement_push_{self.id}",
            max_retries=10,
            description=self.env._("Push statement %(s)s", s=self.name),
        )._job_push()

    @api.model
    def _upload_url(self):
        get = self.env["ir.config_parameter"].sudo().get_param
        return (get("g2p_bank_simulator.statement_upload_url") or "").strip()

    def _job_push(self):
        """Job: POST the MT940 (multipart, field ``statement_file``) to the upload URL.

        Network errors and 5xx answers are retried by queue_job; a 4xx is final.
        """
        self = self.sudo()  # noqa: PLW0642
        self.ensure_one()
        url = self._upload_url()
        if self.push_state == "done" or self.state != "done":
            return self.env._("Nothing to push.")
        if not url:
            # Removed since the statement was written: not pushed (it stays
            # downloadable), rather than pending for ever.
            self.push_state = "none"
            return self.env._("No upload URL is configured: not pushed.")
        if not is_http_url(url):
            # Set by hand in the system parameters: no retry can make it work.
            error = self.env._(
                "The upload URL %(u)r is not an http(s) URL: not pushed.", u=url
            )
            self.write({"push_state": "failed", "push_error": error})
            return error
        files = {
            "statement_file": (
                f"{self.name}.mt940",
                self.attachment_id.raw,
                "text/plain",
            )
        }
        try:
            response = requests.post(url, files=files, timeout=PUSH_TIMEOUT)
        except requests.RequestException as error:
            return self._push_again(
                self.env._("Upload to %(u)s failed: %(e)s", u=url, e=error)
            )
        if response.status_code >= 500 or response.status_code == 429:
            return self._push_again(
                self.env._(
                    "Upload to %(u)s answered %(c)s.", u=url, c=response.status_code
                )
            )
        if response.status_code >= 400:
            self.write(
                {
                    "push_state": "failed",
                    "push_error": self.env._(
                        "%(u)s refused the statement (%(c)s): %(t)s",
                        u=url,
                        c=response.status_code,
                        t=response.text[:500],
                    ),
                }
            )
            return self.push_error
        self.write(
            {
                "push_state": "done",
                "push_date": fields.Datetime.now(),
                "push_error": False,
            }
        )
        return self.env._("Statement %(s)s pushed to %(u)s.", s=self.name, u=url)

    def _push_again(self, error):
        """Have queue_job retry the push; on its last try, record the failure instead:
        a failed job rolls back what it wrote, and the statement would stay
        "Pending" for ever."""
        if not self._last_try():
            raise RetryableJobError(error, seconds=30)
        self.write({"push_state": "failed", "push_error": error})
        return error

    def _last_try(self):
        """Whether the job running this fails if it asks for a retry now."""
        uuid = self.env.context.get("job_uuid")
        job = uuid and self.env["queue.job"].sudo().search([("uuid", "=", uuid)])
        # The stored retry count does not include the running try yet.
        return bool(job and job.max_retries and job.retry + 1 >= job.max_retries)
