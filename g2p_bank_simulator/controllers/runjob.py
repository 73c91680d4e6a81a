from contextlib import suppress

from psycopg2 import Error as DatabaseError

from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.exception import RetryableJobError

RUNNING_ELSEWHERE_RETRY_SECONDS = 10


class G2PRunJobController(RunJobController):
    """Runs the suite's jobs holding their liveness lock, from before the job is
    marked started until its outcome is stored: a started job whose lock is free was
    run by a worker that died, and ``queue.job._g2p_requeue_dead_jobs`` puts it back
    in the queue within a minute (queue_job itself leaves it started for ever)."""

    def _try_perform_job(self, env, job):
        jobs = env["queue.job"]
        if not jobs._g2p_is_suite_channel(job.channel):
            return super()._try_perform_job(env, job)
        job_id = jobs._g2p_take_liveness_lock(job.uuid)
        if job_id is None:
            # Requeued by hand while a worker runs it: not twice at once. (Waiting
            # for the lock here, holding the job's row that queue_job locked, would
            # deadlock with the other worker storing the job's outcome.) The row is
            # released before queue_job postpones the job from another connection.
            env.cr.rollback()
            raise RetryableJobError(
                "This job is running in another worker; it is tried again later.",
                seconds=RUNNING_ELSEWHERE_RETRY_SECONDS,
                ignore_retry=True,
            )
        try:
            return super()._try_perform_job(env, job)
        except Exception:
            # queue_job stores the failure or the retry from another connection,
            # then the request is rolled back: the job's work is undone either way,
            # and the lock can only be released from a usable transaction. (When
            # the connection itself is gone, so is the lock.)
            with suppress(DatabaseError):
                env.cr.rollback()
            raise
        finally:
            with suppress(DatabaseError):
                jobs._g2p_release_liveness_lock(job_id)
