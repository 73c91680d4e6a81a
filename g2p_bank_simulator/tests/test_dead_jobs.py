import threading
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

from ..controllers.runjob import G2PRunJobController
from ..exceptions import G2PSimBankError
from ..models.queue_job import LIVENESS_LOCK
from .committed import CommittedCase
from .common import SimBankCase


class TestDeadJobs(SimBankCase):
    """The cron requeues a suite job left "started" whose liveness lock nobody holds
    (its worker died), or left "enqueued" for over 30 s (its request was lost); a job
    whose worker holds the lock, and other addons' jobs, are left alone."""

    def _started_job(self, channel, retry=0):
        job = self.bank.with_delay(channel=channel).generate_statement("T-PROG-1")
        record = job.db_record()
        record.write({"state": "started", "retry": retry})
        return record

    def test_only_started_suite_jobs_without_a_worker_are_requeued(self):
        dead = self._started_job("root.g2p_bank_simulator", retry=1)
        dead_statement = self._started_job("root.g2p_bank_simulator.statement")
        running = self._started_job("root.g2p_payment_batch")
        foreign = self._started_job("root")
        pending = self.bank.with_delay(
            channel="root.g2p_bank_simulator"
        ).generate_statement("T-PROG-1")
        # The worker of ``running``: another database session holding its lock.
        with self.registry.cursor() as worker:
            worker.execute(
                "SELECT pg_advisory_lock(%s, %s)", [LIVENESS_LOCK, running.id]
            )
            requeued = self.env["queue.job"]._g2p_requeue_dead_jobs()
            worker.execute("SELECT pg_advisory_unlock_all()")
        self.assertEqual(requeued, dead | dead_statement)
        self.assertEqual(
            (dead | dead_statement | running | foreign).mapped("state"),
            ["pending", "pending", "started", "started"],
        )
        # The dead run counts as a try.
        self.assertEqual((dead | dead_statement).mapped("retry"), [2, 1])
        self.assertEqual(pending.db_record().state, "pending")
        cron = self.env.ref("g2p_bank_simulator.ir_cron_requeue_dead_jobs")
        self.assertIn("_g2p_requeue_dead_jobs", cron.code)
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "minutes"))

    def test_jobs_enqueued_by_a_lost_request_are_requeued_after_30_s(self):
        """A job the runner enqueued whose request never reached a worker (the
        server was killed): requeued as is once it has waited over 30 s; one
        enqueued just now is left to its request."""
        now = fields.Datetime.now()
        lost = self._started_job("root.g2p_payment_batch", retry=1)
        lost.write({"state": "enqueued", "date_enqueued": now - timedelta(minutes=2)})
        recent = self._started_job("root.g2p_bank_simulator")
        recent.write({"state": "enqueued", "date_enqueued": now - timedelta(seconds=5)})
        foreign = self._started_job("root")
        foreign.write({"state": "enqueued", "date_enqueued": now - timedelta(hours=1)})
        self.assertEqual(self.env["queue.job"]._g2p_requeue_dead_jobs(), lost)
        self.assertEqual(
            (lost | recent | foreign).mapped("state"),
            ["pending", "enqueued", "enqueued"],
        )
        self.assertEqual(lost.retry, 1, "it never ran: not a try")

    def test_a_job_whose_worker_died_max_retries_times_fails_with_the_reason(self):
        job = self._started_job("root.g2p_bank_simulator")
        job.max_retries = 3
        job.retry = 2
        self.assertEqual(self.env["queue.job"]._g2p_requeue_dead_jobs(), job)
        self.assertEqual((job.state, job.retry), ("failed", 3))
        self.assertIn("stopped before the job ended", job.exc_message)
        self.assertIn("3 time(s)", job.exc_message)
        self.assertEqual(job.exc_name, "WorkerDied")


@tagged("post_install", "-at_install")
class TestKilledWorker(CommittedCase):
    """A batch job run as queue_job runs it, by the suite's controller, whose
    database session ends in the middle of the job, as when its worker's process is
    killed: the cron sees it dead, requeues it, and the batch is paid once."""

    def _fund(self, amount):
        number = f"KW-{self.tag}-PROG"

        def fund(env):
            eur = env.ref("base.EUR")
            eur.active = True
            env["g2p.sim.account"].create(
                {"account_number": number, "name": "Program", "currency_id": eur.id}
            ).deposit(amount, "OPENING")

        self._run(fund)
        return number

    def _batch_job(self, prog, amount):
        """A batch of one payment (to a customer of the bank) and its job's uuid."""

        def initiate(env):
            bank = env["g2p.sim.bank"]
            block = bank.block_funds(prog, "EUR", amount).reference
            own_code = env["g2p.sim.failure.simulator"]._settings()["bank_code"]
            batch = bank.initiate_payment(
                [
                    {
                        "payment_reference_number": f"{self.tag}-KW",
                        "remitting_account": prog,
                        "remitting_account_currency": "EUR",
                        "payment_amount": amount,
                        "funds_blocked_reference_number": block,
                        "beneficiary_name": "B",
                        "beneficiary_account": f"KW-{self.tag}-BEN",
                        "beneficiary_account_type": "BANK_ACCOUNT",
                        "beneficiary_bank_code": own_code,
                    }
                ]
            )
            return batch

        batch_id = self._run(initiate)[0]
        [(uuid,)] = self._rows(
            "SELECT uuid FROM queue_job WHERE func_string LIKE %s",
            f"%g2p.sim.payment.batch({batch_id},)%",
        )
        return batch_id, uuid

    def _perform(self, env, uuid):
        G2PRunJobController()._try_perform_job(env, Job.load(env, uuid))

    def _job_state(self, uuid):
        return self._rows("SELECT state, retry FROM queue_job WHERE uuid = %s", uuid)[0]

    def _job_id(self, uuid):
        return self._rows("SELECT id FROM queue_job WHERE uuid = %s", uuid)[0][0]

    def test_killed_worker_job_is_requeued_and_pays_once(self):
        prog = self._fund("1000.00")
        batch_id, uuid = self._batch_job(prog, "300.00")
        job_id = self._job_id(uuid)
        outcome = []

        def worker():
            try:
                with self.db.cursor() as cr:
                    self._perform(api.Environment(cr, SUPERUSER_ID, {}), uuid)
            except Exception as error:  # noqa: BLE001 - the session is killed
                outcome.append(error)

        requeue = lambda env: env["queue.job"]._g2p_requeue_dead_jobs()
        with self.db.cursor() as holder, self.db.cursor() as watch:
            # Another transaction holds the funding account: the job waits for it.
            self.env["g2p.sim.bank"].with_env(self.env(cr=holder)).block_funds(
                prog, "EUR", "1.00"
            )
            thread = threading.Thread(target=worker)
            thread.start()
            waiting = self._lock_waiters(watch)  # the job waits for the account
            self.assertEqual(self._job_state(uuid), ("started", 0))
            self.assertNotIn(job_id, self._run(requeue), "its worker is alive")
            # The worker's process dies: PostgreSQL ends its session.
            watch.execute("SELECT pg_terminate_backend(%s)", waiting[0])
            watch.commit()  # pylint: disable=invalid-commit
            thread.join(30)
            holder.rollback()
        self.assertTrue(outcome, "the killed job must not have ended normally")
        self.assertEqual(self._job_state(uuid), ("started", 0))

        self.assertIn(job_id, self._run(requeue))
        self.assertEqual(self._job_state(uuid), ("pending", 1))
        self._run(lambda env: self._perform(env, uuid))
        self.assertEqual(self._job_state(uuid), ("done", 2))
        self.assertEqual(
            self._rows(
                "SELECT state, success_count FROM g2p_sim_payment_batch WHERE id = %s",
                batch_id,
            ),
            [("done", 1)],
        )
        [(book, debits)] = self._rows(
            """SELECT a.book_balance::text,
                      (SELECT count(*) FROM g2p_sim_ledger_entry e
                        WHERE e.account_id = a.id AND e.signed_amount < 0)
                 FROM g2p_sim_account a WHERE account_number = %s""",
            prog,
        )
        self.assertEqual((book, debits), ("700.00", 1))
        # The lock went with the job's end: nobody holds it.
        [(free,)] = self._rows(
            "SELECT pg_try_advisory_xact_lock(%s, id) FROM queue_job WHERE uuid = %s",
            LIVENESS_LOCK,
            uuid,
        )
        self.assertTrue(free)

    def test_a_failing_job_releases_its_lock(self):
        """A job that raises: its work is undone and its lock released before
        queue_job stores the failure from another connection (which would otherwise
        find the job alive for as long as the worker's connection stays pooled)."""

        def enqueue(env):
            return (
                env["g2p.sim.bank"]
                .with_delay(channel="root.g2p_bank_simulator")
                .generate_statement(f"KW-{self.tag}-NOPE")
                .db_record()
            )

        [job_id] = self._run(enqueue)
        [(uuid,)] = self._rows("SELECT uuid FROM queue_job WHERE id = %s", job_id)
        self.addCleanup(
            self._run,
            lambda env: env.cr.execute("DELETE FROM queue_job WHERE id = %s", [job_id]),
        )
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            with self.assertRaises(G2PSimBankError):
                self._perform(env, uuid)
            # The worker's connection is still open (pooled) and usable.
            cr.execute("SELECT 1")
            [(free,)] = self._rows(
                "SELECT pg_try_advisory_xact_lock(%s, %s)", LIVENESS_LOCK, job_id
            )
            self.assertTrue(free)

    def test_a_job_running_in_another_worker_is_postponed_not_run_twice(self):
        """Requeued by hand while a worker runs it: the second worker does not run
        it at the same time, nor wait for it holding the job's row (a deadlock with
        the first storing the outcome); queue_job postpones it."""
        prog = self._fund("1000.00")
        batch_id, uuid = self._batch_job(prog, "300.00")
        job_id = self._job_id(uuid)
        with self.db.cursor() as first, self.db.cursor() as second:
            first.execute("SELECT pg_advisory_lock(%s, %s)", [LIVENESS_LOCK, job_id])
            second.execute("SET lock_timeout = '5s'")  # fail, not hang, if it waits
            second.execute(
                "SELECT 1 FROM queue_job WHERE id = %s FOR UPDATE", [job_id]
            )  # as queue_job's runjob does before performing
            with self.assertRaises(RetryableJobError):
                self._perform(api.Environment(second, SUPERUSER_ID, {}), uuid)
            # The job's row is free for queue_job to postpone the job.
            self.assertEqual(
                self._rows(
                    "SELECT id FROM queue_job WHERE id = %s FOR UPDATE NOWAIT", job_id
                ),
                [(job_id,)],
            )
            first.execute("SELECT pg_advisory_unlock(%s, %s)", [LIVENESS_LOCK, job_id])
        self.assertEqual(self._job_state(uuid), ("pending", 0))
        self.assertEqual(
            self._rows(
                "SELECT state FROM g2p_sim_payment_batch WHERE id = %s", batch_id
            ),
            [("pending",)],
        )
