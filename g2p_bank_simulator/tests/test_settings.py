from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form

from .common import PARAM, SimBankCase


class TestSettings(SimBankCase):
    def _param(self, name):
        return self.env["ir.config_parameter"].sudo().get_param(PARAM + name)

    def test_settings_are_saved(self):
        """Odoo's Settings page opens and saves (a Text config_parameter broke both
        for every app)."""
        settings = self.env["res.config.settings"].create(
            {
                "g2p_sim_failure_rate": 12.5,
                "g2p_sim_statement_upload_url": " https://bridge.example.org/up ",
                "g2p_sim_nonexistent_accounts": " ACC-1 \n\n  ACC-2\n",
            }
        )
        settings.execute()
        self.assertEqual(self._param("failure_rate"), "12.5")
        self.assertEqual(
            self._param("statement_upload_url"), "https://bridge.example.org/up"
        )
        self.assertEqual(self._param("nonexistent_accounts"), "ACC-1\nACC-2")
        simulated = self.env["g2p.sim.failure.simulator"]._settings()
        self.assertEqual(simulated["nonexistent"], {"ACC-1", "ACC-2"})
        # Read back as the settings page shows it.
        form = Form(self.env["res.config.settings"])
        self.assertEqual(form.g2p_sim_nonexistent_accounts, "ACC-1\nACC-2")
        self.assertEqual(form.g2p_sim_failure_rate, 12.5)

    def test_settings_form(self):
        with Form(self.env["res.config.settings"]) as form:
            form.g2p_sim_nonexistent_accounts = "GONE-1"
            form.g2p_sim_seed = "7"
        form.record.execute()
        self.assertEqual(self._param("nonexistent_accounts"), "GONE-1")
        self.assertEqual(self._param("seed"), "7")
        # Emptied: no account is treated as non-existent any more.
        with Form(self.env["res.config.settings"]) as form:
            form.g2p_sim_nonexistent_accounts = ""
        form.record.execute()
        self.assertFalse(self._param("nonexistent_accounts"))

    def test_out_of_range_failure_rate_is_refused(self):
        for rate in (-5, 150, 100.01):
            with (
                self.subTest(rate=rate),
                self.assertRaisesRegex(ValidationError, "0 to 100"),
            ):
                self.env["res.config.settings"].create({"g2p_sim_failure_rate": rate})
        self.assertEqual(self._param("failure_rate"), "0")

    def test_bad_upload_url_is_refused(self):
        for url in ("bridge.example.org/up", "ftp://bridge/up", "http://", "x y"):
            with self.subTest(url=url), self.assertRaisesRegex(ValidationError, "http"):
                self.env["res.config.settings"].create(
                    {"g2p_sim_statement_upload_url": url}
                )
        self.assertFalse(self._param("statement_upload_url"))

    def test_nonexistent_account_with_a_tab_is_refused(self):
        with self.assertRaisesRegex(UserError, "U\\+0009"):
            self.env["res.config.settings"].create(
                {"g2p_sim_nonexistent_accounts": "ACC-1\nACC\t2"}
            )

    def test_bad_stored_failure_rate_is_logged(self):
        icp = self.env["ir.config_parameter"].sudo()
        simulator = self.env["g2p.sim.failure.simulator"]
        for stored, used in (("abc", 0), ("150", 100), ("-5", 0)):
            icp.set_param(PARAM + "failure_rate", stored)
            with (
                self.subTest(stored=stored),
                self.assertLogs("odoo.addons.g2p_bank_simulator", "WARNING") as logs,
            ):
                self.assertEqual(simulator._settings()["failure_rate"], used)
            self.assertIn(stored, logs.output[0])

    def test_push_to_a_bad_stored_url_fails_at_once(self):
        """A URL set by hand in the system parameters is not retried 10 times as a
        network error: the push fails with the reason."""
        account = self._open("T-PUSH-1")
        statement = self.env["g2p.sim.statement"].create(
            {"account_id": account.id, "state": "done", "push_state": "pending"}
        )
        self.env["ir.config_parameter"].sudo().set_param(
            PARAM + "statement_upload_url", "bridge.example.org/upload"
        )
        statement._job_push()
        self.assertEqual(statement.push_state, "failed")
        self.assertIn("not an http(s) URL", statement.push_error)
