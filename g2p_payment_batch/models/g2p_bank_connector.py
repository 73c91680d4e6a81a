import secrets

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class G2PBankConnectorError(UserError):
    """A bank refused or could not be reached: ``code`` is the bank's error code
    (or ``UNREACHABLE`` / ``BAD_ANSWER``), the message is for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class G2PBankConnector(models.Model):
    """How a payment batch talks to its sponsor bank.

    The record holds the configuration; the work is done by the implementation
    ``g2p.bank.connector.<type>`` (an AbstractModel with the methods below), so that
    the in-database simulator and an HTTP bank share one interface.
    """

    _name = "g2p.bank.connector"
    _description = "Bank connector"
    _order = "name"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    connector_type = fields.Selection(
        [
            ("simulator", "Simulated bank (this database)"),
            ("http", "Bank over HTTP (example-bank contract)"),
        ],
        string="Type",
        required=True,
        default="simulator",
    )
    base_url = fields.Char(
        string="Base URL",
        help="Root of the bank's API, e.g. https://bank.example.org/api/v1/bank",
    )
    api_key = fields.Char(
        string="API key",
        groups="g2p_payment_batch.group_program_manager",
        help="Sent in the HTTP-API-KEY header.",
    )
    timeout = fields.Integer(
        string="Timeout (s)", default=60, help="Per HTTP request, in seconds."
    )
    retries = fields.Integer(
        default=3,
        help="How many times a request is repeated after a network error or a 5xx "
        "answer (with a growing pause); 0 = no repeat.",
    )
    ask_statement = fields.Boolean(
        string="Ask for a statement",
        default=True,
        help="After sending a batch, ask the bank for a statement of the funding "
        "account (besides the statements the bank produces or pushes by itself).",
    )
    upload_token = fields.Char(
        copy=False,
        groups="g2p_payment_batch.group_program_manager",
        default=lambda self: secrets.token_urlsafe(24),
        help="Secret part of the URL the bank pushes its MT940 statements to.",
    )
    upload_url = fields.Char(
        string="Statement upload URL",
        compute="_compute_upload_url",
        groups="g2p_payment_batch.group_program_manager",
        help="Give this URL to the bank (e.g. the simulator's 'Statement upload "
        "URL'): statements posted there (multipart, field statement_file) are "
        "imported and reconciled.",
    )

    _sql_constraints = [
        ("upload_token_uniq", "UNIQUE(upload_token)", "Upload tokens are unique."),
    ]

    @api.depends("upload_token")
    def _compute_upload_url(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for connector in self:
            connector.upload_url = (
                f"{base}/g2p_payment_batch/statement/{connector.upload_token}"
            )

    @api.constrains("connector_type", "base_url", "timeout", "retries")
    def _check_http(self):
        for connector in self.filtered(lambda c: c.connector_type == "http"):
            if not (connector.base_url or "").startswith(("http://", "https://")):
                raise UserError(
                    _(
                        "The connector %(name)s needs a base URL starting with "
                        "http:// or https://.",
                        name=connector.name,
                    )
                )
            if connector.timeout <= 0 or connector.retries < 0:
                raise UserError(
                    _("The timeout must be positive and the retries not negative.")
                )

    def _impl(self):
        self.ensure_one()
        return self.env[f"g2p.bank.connector.{self.connector_type}"]

    # The interface. Amounts are Decimal; errors are G2PBankConnectorError.
    def check_funds(self, account, currency, amount):
        """True when ``account`` can pay ``amount``; False when funds are short."""
        return self._impl()._check_funds(self, account, currency, amount)

    def block_funds(self, account, currency, amount, reference):
        """Block ``amount``; return the bank's block reference. ``reference`` is
        our idempotency key (the bank returns the same block for it when it can)."""
        return self._impl()._block_funds(self, account, currency, amount, reference)

    def release_block(self, reference):
        return self._impl()._release_block(self, reference)

    def initiate_payment(self, payment_dicts):
        """Send example-bank payment requests as one bank batch; return its id."""
        return self._impl()._initiate_payment(self, payment_dicts)

    def request_statement(self, account):
        """Ask for a statement of the account; return its id at the bank."""
        return self._impl()._request_statement(self, account)

    def fetch_statement(self, statement_id):
        """The MT940 text of a statement, or None while the bank is writing it."""
        return self._impl()._fetch_statement(self, statement_id)

    def list_statements(self, account):
        """Ids of the statements the bank holds for the account (those it can
        list; a bank that pushes its statements lists none)."""
        return self._impl()._list_statements(self, account)
