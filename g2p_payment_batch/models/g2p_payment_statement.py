import base64
import hashlib
import re

from psycopg2.errors import UniqueViolation

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError

from ..statement_balances import UnbalancedStatement

REFERENCE_RE = re.compile(r"^:20:(.*?)\s*$", re.MULTILINE)
ACCOUNT_RE = re.compile(r"^:25:(.*?)\s*$", re.MULTILINE)
#: What the import and the reconciliation decide; they write it as superuser.
OUTCOME_FIELDS = frozenset(
    {
        "source",
        "connector_id",
        "state",
        "error",
        "entry_count",
        "paid_count",
        "failed_count",
        "error_count",
        "batch_ids",
    }
)
#: Written once: the text (and what is read from it) and the outcome.
PROCESS_FIELDS = OUTCOME_FIELDS | {
    "name",
    "account_number",
    "mt940_file",
    "mt940_text",
    "text_hash",
}


class StatementImportedMeanwhile(RetryableJobError):
    """The same statement was imported by a transaction that committed after this
    one began: a job retried sees it and goes on; a push can answer that it has it."""

    def __init__(self, message):
        super().__init__(message, seconds=1)


class StatementRefused(UserError):
    """The text is not a statement the bank can have written: nothing imported."""


def statement_hash(text):
    """The identity of a statement: its text with line ends normalised."""
    normalised = text.replace("\r\n", "\n").strip()
    return hashlib.sha256(normalised.encode()).hexdigest()


class G2PPaymentStatement(models.Model):
    """An MT940 statement received from a bank (fetched by a connector, pushed by
    the bank, or uploaded by hand). The same text is imported once: a second
    import returns the first record and changes nothing."""

    _name = "g2p.payment.statement"
    _description = "Received bank statement"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(
        string="Reference",
        readonly=True,
        help="The bank's statement id, else the :20: reference of the text.",
    )
    connector_id = fields.Many2one("g2p.bank.connector", readonly=True)
    account_number = fields.Char(readonly=True, index=True)
    source = fields.Selection(
        [
            ("connector", "Fetched by the connector"),
            ("push", "Pushed by the bank"),
            ("upload", "Uploaded by hand"),
        ],
        required=True,
        default="upload",
        readonly=True,
    )
    mt940_file = fields.Binary(string="MT940 file", attachment=True)
    mt940_filename = fields.Char()
    mt940_text = fields.Text(string="MT940", readonly=True)
    text_hash = fields.Char(readonly=True, index=True)
    state = fields.Selection(
        [
            ("received", "Received"),
            ("reconciled", "Reconciled"),
            ("failed", "Could not be read"),
        ],
        required=True,
        default="received",
        readonly=True,
        tracking=True,
    )
    error = fields.Text(readonly=True)
    entry_count = fields.Integer(readonly=True)
    paid_count = fields.Integer(readonly=True)
    failed_count = fields.Integer(readonly=True)
    error_count = fields.Integer(string="Errors", readonly=True)
    error_ids = fields.One2many(
        "g2p.payment.reconciliation.error",
        "statement_id",
        string="Reconciliation errors",
    )
    batch_ids = fields.Many2many(
        "g2p.payment.batch",
        "g2p_payment_batch_statement_rel",
        "statement_id",
        "batch_id",
        string="Batches",
        readonly=True,
    )

    _sql_constraints = [
        (
            "text_hash_uniq",
            "UNIQUE(text_hash)",
            "This statement has already been imported.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._check_process_fields(OUTCOME_FIELDS, vals_list)
        for vals in vals_list:
            if vals.get("mt940_file") and not vals.get("mt940_text"):
                raw = base64.b64decode(vals["mt940_file"])
                try:
                    vals["mt940_text"] = raw.decode("ascii")
                except UnicodeDecodeError:
                    raise UserError(
                        _("The file is not an MT940 statement (not plain text).")
                    ) from None
            if not vals.get("mt940_text"):
                raise UserError(_("Choose the MT940 file of the statement."))
            vals["text_hash"] = statement_hash(vals["mt940_text"])
            if not vals.get("name"):
                found = REFERENCE_RE.search(vals["mt940_text"])
                vals["name"] = found.group(1) if found else vals.get("mt940_filename")
            # Known before reconciliation: the batches of the account find it.
            accounts = list(dict.fromkeys(ACCOUNT_RE.findall(vals["mt940_text"])))
            if len(accounts) > 1:
                raise StatementRefused(
                    _(
                        "This file holds statements of several accounts (%(a)s): "
                        "import one file per account. Nothing was imported.",
                        a=", ".join(accounts),
                    )
                )
            vals["account_number"] = accounts[0] if accounts else False
        known = self.search(
            [("text_hash", "in", [vals["text_hash"] for vals in vals_list])], limit=1
        )
        if known:
            raise UserError(
                _(
                    "This statement was already imported as %(name)s: nothing was "
                    "changed.",
                    name=known.display_name,
                )
            )
        for vals in vals_list:
            self._check_balances(vals["mt940_text"])
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._check_process_fields(PROCESS_FIELDS, [vals])
        return super().write(vals)

    @api.model
    def _check_process_fields(self, protected, vals_list):
        """A statement's text and its reconciliation are its import's and its
        reconciliation's: changed by hand, a statement could be reconciled again
        with another text under the same hash."""
        given = set().union(*vals_list)
        if names := sorted(protected & given):
            raise UserError(
                _(
                    "The import and the reconciliation of a statement set "
                    "%(fields)s: they cannot be set by hand.",
                    fields=", ".join(names),
                )
            )

    @api.model
    def _check_balances(self, text):
        """Refuse a text whose balances do not add up, whoever brings it (a hand
        upload, the bank's push, a connector): its entries cannot be the bank's,
        and a reversal in it would fail a paid payment that Re-issue pays again.
        A text that cannot be read at all is kept: its reconciliation fails with
        the reason and changes nothing."""
        try:
            self.env["g2p.payment.reconciler"]._parse(text)
        except UnbalancedStatement as error:
            raise StatementRefused(
                _(
                    "%(e)s Nothing was imported: ask the bank for the statement as "
                    "it wrote it.",
                    e=error.args[0],
                )
            ) from None
        except Exception:  # noqa: BLE001 - unreadable: failed at reconciliation
            return

    @api.model
    def _import_text(self, text, source, connector=None, name=None):
        """The statement with this text: the existing one, or a new one.

        Raises ``StatementImportedMeanwhile`` when another transaction imported the
        same text after this one began (the bank pushing the statement while a batch
        fetches it): this transaction cannot see that statement yet."""
        known = self.search([("text_hash", "=", statement_hash(text))], limit=1)
        if known:
            return known
        try:
            with self.env.cr.savepoint():
                return self.create(
                    {
                        "mt940_text": text,
                        "source": source,
                        "connector_id": connector.id if connector else False,
                        "name": name,
                    }
                )
        except UniqueViolation as error:
            if error.diag.constraint_name != f"{self._table}_text_hash_uniq":
                raise
            # PostgreSQL reports the duplicate only once the other transaction has
            # committed: the statement is safely imported.
            raise StatementImportedMeanwhile(
                _("This statement was imported meanwhile by another transaction.")
            ) from None

    def action_reconcile(self):
        for statement in self.filtered(lambda s: s.state == "received"):
            statement._reconcile()
        return True

    def _job_reconcile(self):
        """Job: reconcile a statement that arrived by itself (pushed by the bank)."""
        self.ensure_one()
        if self.state != "received":
            return _("Statement %(s)s was already reconciled.", s=self.display_name)
        return self._reconcile()

    def _reconcile(self):
        self.ensure_one()
        return self.env["g2p.payment.reconciler"]._reconcile(self)
