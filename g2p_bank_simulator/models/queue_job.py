import logging
from datetime import timedelta

from psycopg2 import errorcodes
from psycopg2.errors import OperationalError

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.queue_job.job import Job

_logger = logging.getLogger(__name__)

#: The job channels of the suite (the bank's and the payment batches'): all their jobs
#: are idempotent, so running one again after its worker died is safe.
SUITE_CHANNELS = "root.g2p_%"
#: First key of the advisory locks that say a suite job's worker is alive (the second
#: key is the job's id); "G2PB" in ASCII, kept apart from other addons' locks.
LIVENESS_LOCK = 0x47325042
#: How long a suite job may stay enqueued before its request is taken for lost: the
#: runner requests it at once, a worker takes it up within a second or so (requeued
#: too early, it still runs once: see _g2p_requeue_dead_jobs).
ENQUEUED_SECONDS = 30


class QueueJob(models.Model):
    _inherit = "queue.job"

    @api.model
    def _g2p_is_suite_channel(self, channel):
        return (channel or "").startswith(SUITE_CHANNELS.rstrip("%"))

    @api.model
    def _g2p_take_liveness_lock(self, uuid):
        """Take the liveness lock of job ``uuid`` for this database session; return
        the job's id, for ``_g2p_release_liveness_lock``, or None when another
        session holds it (the job is running in another worker).

        A session lock, not a transaction's: it outlives the job's commits and goes
        with the session, so PostgreSQL releases it when the worker's process dies.
        """
        self.env.cr.execute(
            SQL(
                "SELECT id, pg_try_advisory_lock(%s, id)"
                " FROM queue_job WHERE uuid = %s",
                LIVENESS_LOCK,
                uuid,
            )
        )
        job_id, taken = self.env.cr.fetchone()
        return job_id if taken else None

    @api.model
    def _g2p_release_liveness_lock(self, job_id):
        self.env.cr.execute(
            SQL("SELECT pg_advisory_unlock(%s, %s)", LIVENESS_LOCK, job_id)
        )

    @api.model
    def _g2p_requeue_dead_jobs(self):
        """Requeue the suite's jobs whose worker died (killed, out of memory, over
        Odoo's time limit, the server stopped): queue_job 18.0.1.7 never runs a job
        left "started" again, requeues one left "enqueued" only after 5 to 10
        minutes, and each one holds a place of its channel meanwhile, so a few of
        them stop every job of the suite.

        - Started: a worker holds its job's liveness lock while it runs it
          (``controllers/runjob.py``); a started job whose lock is free has no
          worker any more. The dead run counts as a try: after ``max_retries`` of
          them the job is failed, with the reason, rather than run again for ever.
        - Enqueued for over 30 s: the request that was to run it was lost
          (queue_job's runner sends it the moment it enqueues the job). Requeued
          as is; should that request still arrive, queue_job runs the job once:
          the request finds it no longer enqueued, or waits for the other's lock.

        Returns the jobs requeued or failed.
        """
        stale = fields.Datetime.now() - timedelta(seconds=ENQUEUED_SECONDS)
        dead = self.browse()
        for record in self.sudo().search(
            [
                ("state", "in", ("started", "enqueued")),
                ("channel", "=like", SUITE_CHANNELS),
            ]
        ):
            state = self._g2p_dead_state(record, stale)
            if state:
                self._g2p_run_again(record, worker_died=state == "started")
                dead |= record
        return dead

    @api.model
    def _g2p_dead_state(self, record, stale):
        """``"started"`` if the job's worker died, ``"enqueued"`` if its request was
        lost (enqueued before ``stale``), else None; the job's row is then locked by
        this transaction."""
        cr = self.env.cr
        try:
            with cr.savepoint():
                # Under REPEATABLE READ this fails when the job changed since this
                # transaction began; a job a request is taking up right now is
                # locked, and skipped.
                cr.execute(
                    SQL(
                        "SELECT state, date_enqueued FROM queue_job"
                        " WHERE id = %s FOR UPDATE SKIP LOCKED",
                        record.id,
                    )
                )
                state, enqueued = cr.fetchone() or (None, None)
                if state == "enqueued":
                    return state if enqueued and enqueued <= stale else None
                if state == "started" and self._g2p_liveness_lock_free(record.id):
                    return state
                return None
        except OperationalError as error:
            if error.pgcode != errorcodes.SERIALIZATION_FAILURE:
                raise
            return None

    @api.model
    def _g2p_liveness_lock_free(self, job_id):
        """Whether no session holds the liveness lock of job ``job_id`` (held by
        this transaction until it ends, if so)."""
        self.env.cr.execute(
            SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", LIVENESS_LOCK, job_id)
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _g2p_run_again(self, record, worker_died):
        """Back to pending; a run whose worker died counts as a try, and past
        max_retries of them the job is failed with the reason."""
        job = Job.load(self.env, record.uuid)
        if worker_died:
            job.retry += 1
        if worker_died and job.max_retries and job.retry >= job.max_retries:
            job.set_failed(
                exc_name="WorkerDied",
                exc_message=self.env._(
                    "The worker running this job stopped before the job ended "
                    "(killed, out of memory, over Odoo's time limit, or the server "
                    "restarted) %(n)s time(s); it is not run again. Look for the "
                    "cause in Odoo's log, then run it again (Retry on a payment "
                    "batch, Requeue in Queue Jobs → Jobs).",
                    n=job.retry,
                ),
                exc_info=self.env._(
                    "No traceback: the worker's process ended while it ran the job."
                ),
            )
        else:
            job.set_pending(reset_retry=False)
        job.store()
        _logger.warning(
            "Job %s (%s) was %s: %s (try %s of %s)",
            record.uuid,
            record.name,
            "left started by a worker that died"
            if worker_died
            else "enqueued by a request that was lost",
            "failed" if job.state == "failed" else "requeued",
            job.retry,
            job.max_retries or "unlimited",
        )
