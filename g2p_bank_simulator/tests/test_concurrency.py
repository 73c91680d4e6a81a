import threading
import time
import uuid
from decimal import Decimal

from psycopg2 import errorcodes
from psycopg2.errors import OperationalError

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from odoo.addons.g2p_bank_simulator.exceptions import G2PSimBankError

RETRYABLE = (
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
    errorcodes.LOCK_NOT_AVAILABLE,
)


@tagged("post_install", "-at_install")
class TestConcurrency(TransactionCase):
    """Real concurrent transactions, each on its own connection, committed.

    The test cursor is not used: everything is committed by the threads and deleted
    again at the end. A transaction that loses a race on a row under REPEATABLE READ is
    retried, as Odoo retries a request (service.model.retrying).
    """

    def setUp(self):
        super().setUp()
        self.db = db_connect(self.env.cr.dbname)
        self.tag = uuid.uuid4().hex[:6].upper()
        self.addCleanup(self._cleanup)

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

    def _numbers(self):
        return [f"CC-{self.tag}-{n}" for n in ("PROG", "BEN")]

    def _cleanup(self):
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
                SQL(
                    "DELETE FROM queue_job WHERE model_name = 'g2p.sim.bank' "
                    "AND func_string LIKE ANY(%s)",
                    [f"%%g2p.sim.payment.batch({bid},)%%" for bid in batch_ids],
                )
            )
            cr.execute(SQL("DELETE FROM g2p_sim_account WHERE id = ANY(%s)", ids))
            cr.commit()  # pylint: disable=invalid-commit

    def _fund(self, amount):
        prog, _ben = self._numbers()

        def fund(env):
            eur = env.ref("base.EUR")
            eur.active = True
            account = env["g2p.sim.account"].create(
                {"account_number": prog, "name": "Program", "currency_id": eur.id}
            )
            account.deposit(amount, "OPENING")
            return account

        self._run(fund)
        return prog

    def _balances(self, number):
        with self.db.cursor() as cr:
            cr.execute(
                SQL(
                    """SELECT a.book_balance::text, a.blocked_amount::text,
                              a.available_balance::text,
                              (SELECT sum(signed_amount)::text FROM g2p_sim_ledger_entry
                                WHERE account_id = a.id),
                              (SELECT count(*) FROM g2p_sim_fund_block
                                WHERE account_id = a.id)
                         FROM g2p_sim_account a WHERE account_number = %s""",
                    number,
                )
            )
            book, blocked, available, ledger, blocks = cr.fetchone()
        return (
            Decimal(book),
            Decimal(blocked),
            Decimal(available),
            Decimal(ledger),
            blocks,
        )

    def test_twenty_parallel_blocks_on_five_blocks_worth(self):
        prog = self._fund("500.00")
        results = self._parallel(
            [
                lambda env: env["g2p.sim.bank"].block_funds(prog, "EUR", "100.00")
                for _i in range(20)
            ]
        )
        successes = [r for r in results if isinstance(r, list)]
        self.assertEqual(len(successes), 5, results)
        self.assertEqual(
            [r for r in results if not isinstance(r, list)],
            ["INSUFFICIENT_FUNDS"] * 15,
        )
        self.assertEqual(
            self._balances(prog),
            (Decimal(500), Decimal(500), Decimal(0), Decimal(500), 5),
        )

    def test_parallel_blocks_with_one_reference_block_once(self):
        """Retries racing each other with the client's block reference: one block,
        the others get it back or a clear DUPLICATE_REFERENCE, never a database
        error."""
        prog = self._fund("500.00")
        reference = f"R-{self.tag}"

        def block(env):
            # As the bank app runs its requests (a late one sees the committed block).
            env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            return env["g2p.sim.bank"].block_funds(prog, "EUR", "100.00", reference)

        # Hold the account's row for a moment: every request has then written its
        # block (or waits on the first one's reference) when the first one commits.
        with self.db.cursor() as hold:
            hold.execute(
                "SELECT id FROM g2p_sim_account WHERE account_number = %s "
                "FOR NO KEY UPDATE",
                [prog],
            )
            release = threading.Timer(0.5, hold.commit)
            release.start()
            results = self._parallel([block] * 6)
            release.join()
        blocks = {tuple(r) for r in results if isinstance(r, list)}
        self.assertEqual(len(blocks), 1, results)
        self.assertEqual(
            {r for r in results if not isinstance(r, list)} - {"DUPLICATE_REFERENCE"},
            set(),
        )
        self.assertEqual(
            self._balances(prog),
            (Decimal(500), Decimal(100), Decimal(400), Decimal(500), 1),
        )

    def test_two_parallel_initiates_on_one_block(self):
        prog = self._fund("1000.00")
        block_ref = self._run(
            lambda env: env["g2p.sim.bank"].block_funds(prog, "EUR", "500.00").reference
        )

        def initiate(ref, amount):
            def call(env):
                return env["g2p.sim.bank"].initiate_payment(
                    [
                        {
                            "payment_reference_number": f"{self.tag}-{ref}",
                            "remitting_account": prog,
                            "remitting_account_currency": "EUR",
                            "payment_amount": amount,
                            "funds_blocked_reference_number": block_ref,
                            "beneficiary_name": "B",
                            "beneficiary_account": f"CC-{self.tag}-BEN",
                            "beneficiary_account_type": "BANK_ACCOUNT",
                            "beneficiary_bank_code": "OTHER",
                        }
                    ]
                )

            return call

        # Two different batches of 300 on a block of 500: one must be refused.
        results = self._parallel([initiate("A", "300.00"), initiate("B", "300.00")])
        self.assertEqual(sorted(map(type, results), key=str), [list, str], results)
        self.assertIn("BLOCK_EXCEEDED", results)
        # The same request twice at once: one batch, the other call replays it.
        results = self._parallel([initiate("C", "150.00"), initiate("C", "150.00")])
        self.assertTrue(all(isinstance(r, list) for r in results), results)
        self.assertEqual(results[0], results[1])
        with self.db.cursor() as cr:
            cr.execute(
                SQL(
                    """SELECT amount_reserved::text, amount_remaining::text
                         FROM g2p_sim_fund_block WHERE reference = %s""",
                    block_ref,
                )
            )
            reserved, remaining = cr.fetchone()
        self.assertEqual((Decimal(reserved), Decimal(remaining)), (450, 500))

    def test_same_references_on_two_blocks_at_once_pay_once(self):
        """Two requests with the same payment references on different blocks, the
        second recorded while the first is still open: the second is answered
        DUPLICATE_REFERENCE (not a database error) and nothing is paid twice."""
        prog = self._fund("1000.00")
        blocks = [
            self._run(
                lambda env: (
                    env["g2p.sim.bank"].block_funds(prog, "EUR", "100.00").reference
                )
            )
            for _i in range(2)
        ]

        def initiate(env, block):
            return env["g2p.sim.bank"].initiate_payment(
                [
                    {
                        "payment_reference_number": f"{self.tag}-SAME",
                        "remitting_account": prog,
                        "remitting_account_currency": "EUR",
                        "payment_amount": "60.00",
                        "funds_blocked_reference_number": block,
                        "beneficiary_name": "B",
                        "beneficiary_account": f"CC-{self.tag}-BEN",
                        "beneficiary_account_type": "BANK_ACCOUNT",
                        "beneficiary_bank_code": "OTHER",
                    }
                ]
            )

        with self.db.cursor() as first:
            initiate(api.Environment(first, SUPERUSER_ID, {}), blocks[0])
            second = threading.Thread(
                target=lambda: results.append(
                    self._run(lambda env: initiate(env, blocks[1]))
                )
            )
            results = []
            second.start()
            time.sleep(1)  # the second request now waits on the reference's index
            first.commit()  # pylint: disable=invalid-commit
        second.join(30)
        self.assertEqual(results, ["DUPLICATE_REFERENCE"])
        with self.db.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT count(*) FROM g2p_sim_payment "
                    "WHERE payment_reference_number = %s",
                    f"{self.tag}-SAME",
                )
            )
            self.assertEqual(cr.fetchone()[0], 1)
