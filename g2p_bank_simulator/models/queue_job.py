from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import config

#: The job channels of the suite (the bank's and the payment batches'): all their jobs
#: are idempotent, so running one again after its worker died is safe.
SUITE_CHANNELS = "root.g2p_%"


class QueueJob(models.Model):
    _inherit = "queue.job"

    @api.model
    def _g2p_dead_job_minutes(self):
        """How long a job of the suite may stay started before it is taken for dead.

        A worker kills a request or job after ``limit_time_real`` (30 minutes as the
        suite's scripts configure it); five minutes more and nobody runs it any more.
        """
        return max(int(config["limit_time_real"] or 0) // 60, 30) + 5

    @api.model
    def _g2p_requeue_dead_jobs(self):
        """Requeue the suite's jobs left "started" by a worker that died (killed, out
        of memory, host restarted): queue_job 18.0.1.7 requeues only jobs stuck in
        "enqueued", so such a batch would wait for an operator forever."""
        since = fields.Datetime.now() - timedelta(minutes=self._g2p_dead_job_minutes())
        dead = self.sudo().search(
            [
                ("state", "=", "started"),
                ("date_started", "<=", since),
                ("channel", "=like", SUITE_CHANNELS),
            ]
        )
        dead.requeue()
        return dead
