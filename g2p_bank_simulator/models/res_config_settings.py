from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


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
    g2p_sim_nonexistent_accounts = fields.Text(
        string="Non-existent accounts",
        config_parameter="g2p_bank_simulator.nonexistent_accounts",
        help="One account number per line: payments to them fail with "
        "ACCOUNT_NOT_FOUND.",
    )

    @api.constrains("g2p_sim_failure_rate")
    def _check_g2p_sim_failure_rate(self):
        for settings in self:
            if not 0 <= settings.g2p_sim_failure_rate <= 100:
                raise ValidationError(_("The failure rate is a percentage, 0 to 100."))
