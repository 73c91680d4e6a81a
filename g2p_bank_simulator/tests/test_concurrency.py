import threading
import time
from decimal import Decimal

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged
from odoo.tools import SQL

from ..transactions import read_committed
from .committed import CommittedCase


@tagged("post_install", "-at_install")
class TestConcurrency(CommittedCase):
    def _numbers(self):
        return [f"CC-{self.tag}-{n}" for n in ("PROG", "BEN")]

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
                              (SELECT coalesce(sum(signed_amount), 0)::text
                                 FROM g2p_sim_ledger_entry WHERE account_id = a.id),
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

    def test_a_replay_that_waited_for_the_first_request_gets_its_batch(self):
        """The same request sent again while the first is being recorded (a client
        retrying after a timeout), under READ COMMITTED as the bank's app runs it:
        the second waits for the block's row, then finds it reserved by the first.
        It is answered with the first one's batch, not BLOCK_EXCEEDED, which would
        tell the client that payments being executed failed."""
        prog = self._fund("1000.00")
        block_ref = self._run(
            lambda env: env["g2p.sim.bank"].block_funds(prog, "EUR", "500.00").reference
        )
        request = [
            {
                "payment_reference_number": f"{self.tag}-RETRY",
                "remitting_account": prog,
                "remitting_account_currency": "EUR",
                "payment_amount": "400.00",  # more than half of the block
                "funds_blocked_reference_number": block_ref,
                "beneficiary_name": "B",
                "beneficiary_account": f"CC-{self.tag}-BEN",
                "beneficiary_account_type": "BANK_ACCOUNT",
                "beneficiary_bank_code": "OTHER",
            }
        ]
        first = []

        def initiate(env):
            read_committed(env.cr)
            return env["g2p.sim.bank"].initiate_payment(request).ids

        answer = self._job_while(lambda env: first.extend(initiate(env)), initiate)
        self.assertEqual(answer, first)
        with self.db.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT amount_reserved::text FROM g2p_sim_fund_block "
                    "WHERE reference = %s",
                    block_ref,
                )
            )
            self.assertEqual(Decimal(cr.fetchone()[0]), Decimal("400.00"))

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

    def _process_while(self, other, batch_id):
        """The batch's job run while ``other`` holds rows (see ``_job_while``)."""
        answer = self._job_while(
            other,
            lambda env: env["g2p.sim.bank"].process_batch(
                env["g2p.sim.payment.batch"].browse(batch_id)
            ),
        )
        self.assertIsInstance(answer, str)
        return answer

    def _block_100(self, prog):
        return lambda env: env["g2p.sim.bank"].block_funds(prog, "EUR", "100.00")

    def _batch_of(self, prog, amount):
        block = self._run(
            lambda env: env["g2p.sim.bank"].block_funds(prog, "EUR", amount).reference
        )

        def initiate(env):
            # To a customer of this bank: the payment succeeds, the credited account
            # is the test's own.
            own_code = env["g2p.sim.failure.simulator"]._settings()["bank_code"]
            return env["g2p.sim.bank"].initiate_payment(
                [
                    {
                        "payment_reference_number": f"{self.tag}-JOB",
                        "remitting_account": prog,
                        "remitting_account_currency": "EUR",
                        "payment_amount": amount,
                        "funds_blocked_reference_number": block,
                        "beneficiary_name": "B",
                        "beneficiary_account": f"CC-{self.tag}-BEN",
                        "beneficiary_account_type": "BANK_ACCOUNT",
                        "beneficiary_bank_code": own_code,
                    }
                ]
            )

        return self._run(initiate)[0]

    def test_batch_job_waits_for_a_block_on_its_account(self):
        """A block_funds changing the funding account while its batch is processed:
        the job waits for it and pays (under REPEATABLE READ it failed with a
        serialization error and queue_job retried it 5 s later)."""
        prog = self._fund("1000.00")
        batch_id = self._batch_of(prog, "300.00")

        answer = self._process_while(self._block_100(prog), batch_id)
        self.assertEqual(
            self._rows(
                "SELECT state, success_count FROM g2p_sim_payment_batch WHERE id = %s",
                batch_id,
            ),
            [("done", 1)],
            answer,
        )
        # Paid 300, blocked 100 more: book 700, available 600, nothing lost.
        self.assertEqual(self._balances(prog)[:4], (700, 100, 600, 700))
        _prog, beneficiary = self._numbers()
        self.assertEqual(self._balances(beneficiary)[:4], (300, 0, 300, 300))

    def test_batch_job_sees_an_account_closed_while_it_waits(self):
        """The beneficiary's account is being closed when its batch is processed:
        the job waits, sees it closed and fails the payment (money back to the
        funding account), instead of crediting a closed account."""
        prog = self._fund("1000.00")
        _prog, beneficiary = self._numbers()
        self._run(
            lambda env: env["g2p.sim.account"].create(
                {
                    "account_number": beneficiary,
                    "name": "Beneficiary",
                    "currency_id": env.ref("base.EUR").id,
                }
            )
        )
        batch_id = self._batch_of(prog, "300.00")

        def close(env):
            env["g2p.sim.account"].search(
                [("account_number", "=", beneficiary)]
            ).state = "closed"
            env.flush_all()

        answer = self._process_while(close, batch_id)
        self.assertEqual(
            self._rows(
                "SELECT status, failure_reason FROM g2p_sim_payment "
                "WHERE batch_id = %s",
                batch_id,
            ),
            [("failed", "ACCOUNT_CLOSED")],
            answer,
        )
        self.assertEqual(self._balances(prog)[:4], (1000, 0, 1000, 1000))
        self.assertEqual(self._balances(beneficiary)[:4], (0, 0, 0, 0))

    def test_statement_job_waits_for_a_block_on_its_account(self):
        prog = self._fund("1000.00")
        statement_id = self._run(
            lambda env: env["g2p.sim.bank"].generate_statement(prog)
        )[0]

        answer = self._job_while(
            self._block_100(prog),
            lambda env: env["g2p.sim.statement"].browse(statement_id)._job_generate(),
        )
        self.assertIsInstance(answer, str)
        self.assertEqual(
            self._rows(
                "SELECT state FROM g2p_sim_statement WHERE id = %s", statement_id
            ),
            [("done",)],
            answer,
        )

    def _expired_block(self, prog, amount):
        """A block whose expiry date is yesterday; its reference."""
        reference = self._run(
            lambda env: env["g2p.sim.bank"].block_funds(prog, "EUR", amount).reference
        )
        self._run(
            lambda env: env.cr.execute(
                SQL(
                    "UPDATE g2p_sim_fund_block SET expiry_date = current_date - 1 "
                    "WHERE reference = %s",
                    reference,
                )
            )
        )
        return reference

    def test_expiry_job_waits_for_a_block_on_its_account(self):
        """The expiry of a block while its client blocks funds on the same account:
        the job waits and expires it (the cron, under REPEATABLE READ, failed with a
        serialization error and left every block of the run to the next day)."""
        prog = self._fund("1000.00")
        expiring = self._expired_block(prog, "300.00")

        answer = self._job_while(
            self._block_100(prog), lambda env: env["g2p.sim.bank"]._expire_blocks()
        )
        self.assertEqual(answer, "1 fund blocks expired.")
        self.assertEqual(
            self._rows(
                "SELECT state FROM g2p_sim_fund_block WHERE reference = %s", expiring
            ),
            [("expired",)],
        )
        # The 300 released, the other client's 100 blocked: nothing lost.
        self.assertEqual(self._balances(prog), (1000, 100, 900, 1000, 2))

    def test_expiry_job_skips_a_block_released_meanwhile(self):
        """Its client releases the block while the job waits for the account: the
        job expires the others and ends well."""
        prog = self._fund("1000.00")
        released = self._expired_block(prog, "300.00")
        expiring = self._expired_block(prog, "200.00")

        answer = self._job_while(
            lambda env: env["g2p.sim.bank"].release_block(released),
            lambda env: env["g2p.sim.bank"]._expire_blocks(),
        )
        self.assertEqual(answer, "1 fund blocks expired.")
        self.assertEqual(
            self._rows(
                "SELECT reference, state FROM g2p_sim_fund_block "
                "WHERE reference = ANY(%s) ORDER BY id",
                [released, expiring],
            ),
            [(released, "released"), (expiring, "expired")],
        )
        self.assertEqual(self._balances(prog), (1000, 0, 1000, 1000, 2))
