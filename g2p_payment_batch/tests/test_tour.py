from odoo.tests import HttpCase, new_test_user, tagged

from .common import SIM, run_jobs


@tagged("post_install", "-at_install")
class TestOfficerTour(HttpCase):
    """In a real browser: an officer builds a batch from registrants, runs it, and
    (after the queued jobs ran) sees the paid and failed counts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        kes = cls.env.ref("base.KES")
        kes.active = True
        icp = cls.env["ir.config_parameter"].sudo()
        icp.set_param(SIM + "bank_code", "TOURKENA")
        icp.set_param(SIM + "failure_rate", "0")
        icp.set_param(SIM + "nonexistent_accounts", "")
        icp.set_param(SIM + "statement_upload_url", "")
        fund = cls.env["g2p.sim.account"].create(
            {"account_number": "T-TOUR-FUND", "name": "Tour", "currency_id": kes.id}
        )
        fund.deposit("10000.00", "OPENING")
        cls.env["g2p.bank.connector"].create(
            {"name": "Tour bank", "connector_type": "simulator"}
        )
        bank = cls.env["res.bank"].create({"name": "Tour Bank", "bic": "TOURKENA"})
        people = cls.env["res.partner"].create(
            [
                {
                    "name": f"Tour Person {i}",
                    "is_registrant": True,
                    "g2p_functional_id": f"TOUR-{i}",
                }
                for i in range(1, 6)
            ]
        )
        cls.env["res.partner.bank"].create(
            [
                {
                    "partner_id": p.id,
                    "acc_number": p.g2p_functional_id,
                    "bank_id": bank.id,
                }
                for p in people
            ]
        )
        cls.env["g2p.sim.account"].create(
            {
                "account_number": "TOUR-5",
                "name": "Tour Person 5",
                "currency_id": kes.id,
                "state": "deceased",
            }
        )
        cls.officer = new_test_user(
            cls.env,
            login="t_tour_officer",
            password="t_tour_officer",
            groups="base.group_user,g2p_payment_batch.group_program_officer",
        )
        # The officer's default filter of the "Add registrants" wizard.
        cls.env["ir.default"].set(
            "g2p.payment.add.registrants",
            "domain",
            "[('g2p_functional_id', '=like', 'TOUR-%')]",
            user_id=cls.officer.id,
        )

    def test_officer_runs_a_batch(self):
        self.start_tour(
            "/odoo", "g2p_payment_batch_create_tour", login="t_tour_officer"
        )
        batch = self.env["g2p.payment.batch"].search(
            [("program_name", "=", "Tour Program")]
        )
        self.assertEqual(batch.state, "confirmed")
        self.assertEqual(batch.create_uid, self.officer)
        failed = run_jobs(self.env)
        self.assertFalse(failed, failed.mapped("exc_message"))
        self.assertEqual(batch.state, "reconciled")
        self.start_tour(
            "/odoo/action-g2p_payment_batch.g2p_payment_batch_action",
            "g2p_payment_batch_result_tour",
            login="t_tour_officer",
        )
