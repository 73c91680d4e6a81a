import threading
import time
import uuid

from psycopg2 import errorcodes
from psycopg2.errors import OperationalError

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase
from odoo.tools import SQL

from odoo.addons.g2p_bank_simulator.exceptions import G2PSimBankError

RETRYABLE = (
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
    errorcodes.LOCK_NOT_AVAILABLE,
)


class CommittedCase(TransactionCase):
    """Real concurrent transactions, each on its own connection, committed.

    The test cursor is not used: everything is committed by the threads, and each
    test deletes it again (its ``_cleanup``, data found by ``self.tag``). A
    transaction that loses a race on a row under REPEATABLE READ is retried, as Odoo
    retries a request (service.model.retrying).
    """

    def setUp(self):
        super().setUp()
        self.db = db_connect(self.env.cr.dbname)
        self.tag = uuid.uuid4().hex[:6].upper()
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        """Delete what the test committed at the bank: its accounts (their numbers
        carry the tag), their entries, blocks, payments, batches, statements, jobs."""
        with self.db.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT id FROM g2p_sim_account WHERE account_number LIKE %s",
                    f"%%{self.tag}%%",
                )
            )
            ids = [row[0] for row in cr.fetchall()]
            cr.execute(
                SQL(
                    "SELECT id FROM g2p_sim_payment_batch WHERE id IN "
                    "(SELECT batch_id FROM g2p_sim_payment WHERE account_id = ANY(%s))",
                    ids,
                )
            )
            batch_ids = [row[0] for row in cr.fetchall()]
            cr.execute(
                SQL("SELECT id FROM g2p_sim_statement WHERE account_id = ANY(%s)", ids)
            )
            # The jobs the tests enqueued, committed: later tests run pending jobs.
            jobs = [f"%%g2p.sim.payment.batch({bid},)%%" for bid in batch_ids] + [
                f"g2p.sim.statement({row[0]},)%%" for row in cr.fetchall()
            ]
            for query in (
                "DELETE FROM g2p_sim_ledger_entry WHERE account_id = ANY(%s)",
                "DELETE FROM g2p_sim_statement WHERE account_id = ANY(%s)",
                "DELETE FROM g2p_sim_payment WHERE account_id = ANY(%s)",
                "DELETE FROM g2p_sim_fund_block WHERE account_id = ANY(%s)",
            ):
                cr.execute(SQL(query, ids))
            cr.execute(
                SQL("DELETE FROM g2p_sim_payment_batch WHERE id = ANY(%s)", batch_ids)
            )
            cr.execute(
                SQL("DELETE FROM queue_job WHERE func_string LIKE ANY(%s)", jobs)
            )
            cr.execute(SQL("DELETE FROM g2p_sim_account WHERE id = ANY(%s)", ids))
            cr.commit()  # pylint: disable=invalid-commit

    def _run(self, func, tries=60):
        """Run func(env) in a fresh transaction, commit; retry on concurrency errors."""
        for attempt in range(tries):
            with self.db.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
                try:
                    result = func(env)
                    value = result if not hasattr(result, "ids") else result.ids
                    cr.commit()  # pylint: disable=invalid-commit
                    return value
                except OperationalError as error:
                    cr.rollback()
                    if error.pgcode not in RETRYABLE:
                        raise
                    time.sleep(0.01 * (attempt + 1))
                except G2PSimBankError as error:
                    cr.rollback()
                    return error.code
        raise AssertionError("too many concurrency retries")

    def _parallel(self, funcs):
        barrier = threading.Barrier(len(funcs))
        results = [None] * len(funcs)

        def worker(index, func):
            barrier.wait()
            try:
                results[index] = self._run(func)
            except Exception as error:  # noqa: BLE001 - reported by the assertions
                results[index] = repr(error)

        threads = [
            threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(funcs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        return results

    def _job_while(self, other, job):
        """Run ``job(env)`` in its own transaction, as queue_job does (after its own
        commit), while ``other(env)`` has run in another transaction: that one
        commits once the job waits for a row it locked. The job's answer or error."""
        outcome = []

        def run_job():
            try:
                with self.db.cursor() as cr:
                    outcome.append(job(api.Environment(cr, SUPERUSER_ID, {})))
                    cr.commit()  # pylint: disable=invalid-commit
            except Exception as error:  # noqa: BLE001 - reported by the assertions
                outcome.append(error)

        with self.db.cursor() as holder, self.db.cursor() as watch:
            other(api.Environment(holder, SUPERUSER_ID, {}))
            thread = threading.Thread(target=run_job)
            thread.start()
            self._lock_waiters(watch)
            holder.commit()  # pylint: disable=invalid-commit
        thread.join(60)
        return outcome[0]

    def _lock_waiters(self, watch):
        """The backends waiting for a lock in this database, once there are any
        (read with the cursor ``watch``); fails after 15 s without any."""
        for _i in range(300):
            watch.execute(
                """SELECT pid FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock'"""
            )
            waiting = watch.fetchall()
            watch.rollback()
            if waiting:
                return waiting
            time.sleep(0.05)
        raise AssertionError("no transaction waited for the other one")

    def _rows(self, query, *args):
        with self.db.cursor() as cr:
            cr.execute(SQL(query, *args))
            return cr.fetchall()
