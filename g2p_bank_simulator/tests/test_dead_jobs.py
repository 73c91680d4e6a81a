from datetime import timedelta

from odoo import fields

from .common import SimBankCase


class TestDeadJobs(SimBankCase):
    """A job left "started" by a worker that died is run again by the cron; a job
    that may still be running, and other addons' jobs, are left alone."""

    def _started_job(self, channel, minutes_ago):
        job = self.bank.with_delay(channel=channel).generate_statement("T-PROG-1")
        record = job.db_record()
        record.write(
            {
                "state": "started",
                "date_started": fields.Datetime.now() - timedelta(minutes=minutes_ago),
            }
        )
        return record

    def test_dead_jobs_of_the_suite_are_requeued(self):
        limit = self.env["queue.job"]._g2p_dead_job_minutes()
        self.assertGreaterEqual(limit, 35)
        dead = self._started_job("root.g2p_bank_simulator", limit + 1)
        dead_statement = self._started_job(
            "root.g2p_bank_simulator.statement", limit + 60
        )
        running = self._started_job("root.g2p_bank_simulator", limit - 1)
        foreign = self._started_job("root", limit + 60)
        requeued = self.env["queue.job"]._g2p_requeue_dead_jobs()
        self.assertEqual(requeued, dead | dead_statement)
        self.assertEqual(
            (dead | dead_statement | running | foreign).mapped("state"),
            ["pending", "pending", "started", "started"],
        )
        cron = self.env.ref("g2p_bank_simulator.ir_cron_requeue_dead_jobs")
        self.assertIn("_g2p_requeue_dead_jobs", cron.code)
