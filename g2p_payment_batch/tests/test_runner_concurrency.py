import threading

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.g2p_bank_simulator.tests.committed import CommittedCase


@tagged("post_install", "-at_install")
class TestRunnerConcurrency(CommittedCase):
    """The batch steps that call the bank, each run as queue_job runs a job (its own
    transaction, committed) while another transaction changes the rows the bank must
    lock: the bank's job paying the previous chunk, another client's block on the
    funding account. Under REPEATABLE READ the step failed with a serialization
    error once the other transaction committed (queue_job ran it again 5 s later);
    it now waits and goes on."""

    def _numbers(self):
        return f"RC-{self.tag}-FUND", [f"RC-{self.tag}-{i}" for i in (1, 2)]

    def _batch(self):
        """A confirmed batch of two payments of 100.00 sent one per bank batch, from
        a funding account of 1,000.00, to customers of the simulated bank (their
        accounts are opened by the payments: everything carries the test's tag)."""
        fund_number, beneficiaries = self._numbers()

        def create(env):
            kes = env.ref("base.KES")
            kes.active = True
            env["g2p.sim.account"].create(
                {"account_number": fund_number, "name": "Fund", "currency_id": kes.id}
            ).deposit("1000.00", "OPENING")
            own_code = env["g2p.sim.failure.simulator"]._settings()["bank_code"]
            people = env["res.partner"].create(
                [
                    {"name": number, "is_registrant": True, "g2p_functional_id": number}
                    for number in beneficiaries
                ]
            )
            env["res.partner.bank"].create(
                [
                    {
                        "partner_id": person.id,
                        "acc_number": person.g2p_functional_id,
                        "g2p_bank_code": own_code,
                    }
                    for person in people
                ]
            )
            connector = env["g2p.bank.connector"].create(
                {"name": f"RC {self.tag}", "connector_type": "simulator"}
            )
            batch = env["g2p.payment.batch"].create(
                {
                    "program_name": f"RC {self.tag}",
                    "connector_id": connector.id,
                    "funding_account_number": fund_number,
                    "currency_id": kes.id,
                    "max_bank_batch_size": 1,
                }
            )
            env["g2p.payment.batch.builder"]._add_payments(
                batch, [(person, 100) for person in people]
            )
            batch.action_confirm()
            return batch

        return self._run(create)[0]

    def _step(self, method, batch_id):
        """The runner's job ``method`` for the batch, as ``job(env)``."""
        return lambda env: getattr(env["g2p.payment.batch.runner"], method)(
            env["g2p.payment.batch"].browse(batch_id)
        )

    def _fund(self):
        """(book, blocked, available) of the funding account, as text."""
        return self._rows(
            """SELECT book_balance::text, blocked_amount::text,
                      available_balance::text
                 FROM g2p_sim_account WHERE account_number = %s""",
            self._numbers()[0],
        )[0]

    def test_send_waits_for_the_bank_paying_the_previous_chunk(self):
        batch_id = self._batch()
        for method in ("_job_check_funds", "_job_block_funds", "_job_send"):
            self._run(self._step(method, batch_id))
        (first_bank_batch,) = self._rows(
            "SELECT DISTINCT bank_batch_id FROM g2p_payment "
            "WHERE batch_id = %s AND state = 'sent'",
            batch_id,
        )[0]

        def pay_first_chunk(env):
            bank_batch = env["g2p.sim.payment.batch"].search(
                [("name", "=", first_bank_batch)]
            )
            env["g2p.sim.bank"].process_batch(bank_batch)

        answer = self._job_while(pay_first_chunk, self._step("_job_send", batch_id))
        self.assertIsInstance(answer, str)
        self.assertEqual(
            self._rows(
                "SELECT state, sent_count FROM g2p_payment_batch WHERE id = %s",
                batch_id,
            ),
            [("sent", 2)],
            answer,
        )
        # The first 100.00 paid, the second reserved on the block: nothing lost.
        self.assertEqual(self._fund(), ("900.00", "100.00", "800.00"))
        self.assertEqual(
            self._rows(
                """SELECT amount_remaining::text, amount_reserved::text
                     FROM g2p_sim_fund_block b JOIN g2p_payment_batch p
                       ON p.block_reference = b.reference WHERE p.id = %s""",
                batch_id,
            ),
            [("100.00", "100.00")],
        )

    def test_block_step_waits_for_another_block_on_the_account(self):
        batch_id = self._batch()
        self._run(self._step("_job_check_funds", batch_id))
        fund_number = self._numbers()[0]

        answer = self._job_while(
            lambda env: env["g2p.sim.bank"].block_funds(fund_number, "KES", "50.00"),
            self._step("_job_block_funds", batch_id),
        )
        self.assertIsInstance(answer, str)
        self.assertEqual(
            self._rows(
                "SELECT state, block_reference = %s FROM g2p_payment_batch "
                "WHERE id = %s",
                answer,
                batch_id,
            ),
            [("funds_blocked", True)],
        )
        self.assertEqual(self._fund(), ("1000.00", "250.00", "750.00"))

    def test_reissue_twice_at_once_makes_one_batch(self):
        """Two officers re-issue the failed payments of a batch at the same time:
        the second waits for the first, then is told where they went (without the
        lock each made a batch of the same payments)."""
        batch_id = self._batch()

        def fail(env):
            batch = env["g2p.payment.batch"].browse(batch_id)
            batch._set_payment_state("failed")
            batch._transition("failed", "Both payments failed.")

        def reissue(env):
            batch = env["g2p.payment.batch"].browse(batch_id)
            return batch.action_reissue_failed()["res_id"]

        self._run(fail)
        second = []

        def reissue_again():
            try:
                second.append(self._run(reissue))
            except UserError as error:
                second.append(error)

        with self.db.cursor() as holder, self.db.cursor() as watch:
            first = reissue(api.Environment(holder, SUPERUSER_ID, {}))
            thread = threading.Thread(target=reissue_again)
            thread.start()
            self._lock_waiters(watch)
            holder.commit()  # pylint: disable=invalid-commit
        thread.join(60)
        self.assertIsInstance(second[0], UserError)
        self.assertIn("already re-issued", str(second[0]))
        self.assertEqual(
            self._rows(
                "SELECT id FROM g2p_payment_batch WHERE reissued_from_id = %s",
                batch_id,
            ),
            [(first,)],
        )

    def _cleanup(self):
        """The batch's side (jobs, chatter, payments, registrants), then the bank's."""
        with self.db.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT id, connector_id FROM g2p_payment_batch "
                    "WHERE program_name = %s",
                    f"RC {self.tag}",
                )
            )
            batches = cr.fetchall()
            batch_ids = [row[0] for row in batches]
            cr.execute(
                SQL(
                    "SELECT id FROM res_partner WHERE g2p_functional_id LIKE %s",
                    f"RC-{self.tag}-%%",
                )
            )
            people = [row[0] for row in cr.fetchall()]
            jobs = [f"%%g2p.payment.batch({bid},)%%" for bid in batch_ids]
            cr.execute(
                SQL("DELETE FROM queue_job WHERE func_string LIKE ANY(%s)", jobs)
            )
            for model, ids in (
                ("g2p.payment.batch", batch_ids),
                ("res.partner", people),
            ):
                cr.execute(
                    SQL(
                        "DELETE FROM mail_message "
                        "WHERE model = %s AND res_id = ANY(%s)",
                        model,
                        ids,
                    )
                )
                cr.execute(
                    SQL(
                        "DELETE FROM mail_followers "
                        "WHERE res_model = %s AND res_id = ANY(%s)",
                        model,
                        ids,
                    )
                )
            # Payments and exclusions go with their batch.
            cr.execute(
                SQL("DELETE FROM g2p_payment_batch WHERE id = ANY(%s)", batch_ids)
            )
            cr.execute(
                SQL(
                    "DELETE FROM g2p_bank_connector WHERE id = ANY(%s)",
                    [row[1] for row in batches],
                )
            )
            # Their accounts go with the registrants.
            cr.execute(
                SQL(
                    "UPDATE res_partner SET g2p_primary_bank_account_id = NULL "
                    "WHERE id = ANY(%s)",
                    people,
                )
            )
            cr.execute(SQL("DELETE FROM res_partner WHERE id = ANY(%s)", people))
            cr.commit()  # pylint: disable=invalid-commit
        return super()._cleanup()
