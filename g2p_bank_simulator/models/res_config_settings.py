from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .g2p_sim_failure_simulator import PARAM_PREFIX
from .g2p_sim_statement import is_http_url

NONEXISTENT_ACCOUNTS = PARAM_PREFIX + "nonexistent_accounts"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    g2p_sim_bank_code = fields.Char(
        string="Bank code",
        config_parameter="g2p_bank_simulator.bank_code",
        default="SIMBANK",
        help="Beneficiaries with this bank code have their account at this bank.",
    )
    g2p_sim_failure_rate = fields.Float(
        string="Failure rate (%)",
        config_parameter="g2p_bank_simulator.failure_rate",
        help="Share of payments to other banks and wallets that fail, in percent.",
    )
    g2p_sim_seed = fields.Char(
        string="Seed",
        config_parameter="g2p_bank_simulator.seed",
        default="0",
        help="With the payment reference, decides which payments fail: the same seed "
        "fails the same payments.",
    )
    g2p_sim_statement_upload_url = fields.Char(
        string="Statement upload URL",
        config_parameter="g2p_bank_simulator.statement_upload_url",
        help="Every generated statement is posted there (multipart field "
        "statement_file), e.g. the G2P Bridge's /upload_mt940.",
    )
    # Not a config_parameter field: Odoo 18 refuses those of type Text (the whole
    # Settings page crashed); get_values/set_values keep one number per line.
    g2p_sim_nonexistent_accounts = fields.Text(
        string="Non-existent accounts",
        help="One account number per line: payments to them fail with "
        "ACCOUNT_NOT_FOUND.",
    )

    @api.constrains("g2p_sim_failure_rate")
    def _check_g2p_sim_failure_rate(self):
        for settings in self:
            if not 0 <= settings.g2p_sim_failure_rate <= 100:
                raise ValidationError(
                    self.env._(
                        "The failure rate is a percentage, 0 to 100, not %(r)s.",
                        r=settings.g2p_sim_failure_rate,
                    )
                )

    @api.constrains("g2p_sim_statement_upload_url")
    def _check_g2p_sim_statement_upload_url(self):
        for settings in self:
            url = (settings.g2p_sim_statement_upload_url or "").strip()
            if url and not is_http_url(url):
                raise ValidationError(
                    self.env._(
                        "The statement upload URL must be an http:// or https:// URL "
                        "with a host, e.g. https://bridge.example.org/upload_mt940; "
                        "got %(u)r.",
                        u=url,
                    )
                )

    @api.constrains("g2p_sim_nonexistent_accounts")
    def _check_g2p_sim_nonexistent_accounts(self):
        for settings in self:
            settings._nonexistent_accounts()

    def _nonexistent_accounts(self):
        """The account numbers typed, one per line, stripped (as the services read
        account numbers); a line with a control character (a tab) is refused."""
        bank = self.env["g2p.sim.bank"]
        lines = (self.g2p_sim_nonexistent_accounts or "").splitlines()
        numbers = (
            bank._text(line, self._fields["g2p_sim_nonexistent_accounts"].string)
            for line in lines
        )
        return [number for number in numbers if number]

    @api.model
    def get_values(self):
        values = super().get_values()
        get = self.env["ir.config_parameter"].sudo().get_param
        values["g2p_sim_nonexistent_accounts"] = get(NONEXISTENT_ACCOUNTS) or False
        return values

    def set_values(self):
        result = super().set_values()
        numbers = "\n".join(self._nonexistent_accounts())
        icp = self.env["ir.config_parameter"].sudo()
        if (icp.get_param(NONEXISTENT_ACCOUNTS) or "") != numbers:
            icp.set_param(NONEXISTENT_ACCOUNTS, numbers or False)
        return result
