from decimal import Decimal

from odoo.tests import TransactionCase, new_test_user
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

SIM = "g2p_bank_simulator."
SIM_BANK_BIC = "TSIMKENA"  # not the demo bank's BIC: tests make their own
RUNNING = ("pending", "enqueued")


def run_jobs(env, max_rounds=60):
    """Run the stored queue jobs as queue_job's runner does, in the test's
    transaction: every pending job in id order, until none is left. A job that
    raises is rolled back (savepoint) and marked failed with the error; a
    RetryableJobError leaves it pending for the next round. Returns the failed
    jobs. (ETAs are not waited for: the runner here is patient but instant.)"""
    failed = env["queue.job"]
    for _round in range(max_rounds):
        env.flush_all()
        env.invalidate_all()
        records = (
            env["queue.job"]
            .sudo()
            .search(
                [("state", "in", RUNNING), ("id", "not in", failed.ids)], order="id"
            )
        )
        if not records:
            return failed
        progressed = False
        for record in records:
            job = Job.load(env, record.uuid)
            job.set_started()
            job.store()
            try:
                with env.cr.savepoint():
                    job.perform()
                    env.flush_all()
            except RetryableJobError:
                continue
            except Exception as error:  # noqa: BLE001 - what the runner does
                env.invalidate_all()
                job.set_failed(exc_name=type(error).__name__, exc_message=str(error))
                job.store()
                failed |= record
                progressed = True
                continue
            job.set_done()
            job.store()
            progressed = True
        if not progressed:
            raise AssertionError(f"Jobs keep asking to be retried: {records}")
    raise AssertionError("Jobs keep enqueuing jobs")


def decimals(env, query, *args):
    """One row of a query, numerics read exactly (cast them to text)."""
    env.flush_all()
    env.cr.execute(SQL(query, *args))
    return tuple(
        Decimal(value) if isinstance(value, str) else value
        for value in env.cr.fetchone()
    )


class PaymentBatchCase(TransactionCase):
    """A simulated bank with a funded program account, registrants with
    accounts at it, a connector and an officer (no demo data used)."""

    opening = Decimal("1000000.00")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kes = cls.env.ref("base.KES")
        cls.kes.active = True
        icp = cls.env["ir.config_parameter"].sudo()
        icp.set_param(SIM + "bank_code", SIM_BANK_BIC)
        icp.set_param(SIM + "failure_rate", "0")
        icp.set_param(SIM + "seed", "7")
        icp.set_param(SIM + "nonexistent_accounts", "")
        icp.set_param(SIM + "statement_upload_url", "")
        cls.sim_bank = cls.env["res.bank"].create(
            {"name": "Test Sim Bank", "bic": SIM_BANK_BIC}
        )
        cls.other_bank = cls.env["res.bank"].create(
            {"name": "Test Other Bank", "bic": "OTHRKENA"}
        )
        cls.fund = cls.sim_account("T-FUND-1", deposit=cls.opening)
        cls.connector = cls.env["g2p.bank.connector"].create(
            {"name": "Test simulator", "connector_type": "simulator"}
        )
        cls.officer = new_test_user(
            cls.env,
            login="t_officer",
            groups="base.group_user,g2p_payment_batch.group_program_officer",
        )

    @classmethod
    def sim_account(cls, number, deposit=None, state="active"):
        account = cls.env["g2p.sim.account"].create(
            {
                "account_number": number,
                "name": f"Holder {number}",
                "currency_id": cls.kes.id,
            }
        )
        if deposit:
            account.deposit(deposit, "OPENING")
        if state != "active":
            account.state = state
        return account

    @classmethod
    def registrants(cls, prefix, count, bank=None, **account_vals):
        """``count`` individuals ``<prefix>-0001``… each with a primary account
        numbered like its functional ID (created with lists: fast)."""
        partners = cls.env["res.partner"].create(
            [
                {
                    "name": f"Person {prefix} {i}",
                    "is_registrant": True,
                    "g2p_functional_id": f"{prefix}-{i:04d}",
                }
                for i in range(1, count + 1)
            ]
        )
        cls.env["res.partner.bank"].create(
            [
                {
                    "partner_id": partner.id,
                    "acc_number": partner.g2p_functional_id,
                    "bank_id": (bank or cls.sim_bank).id,
                    **account_vals,
                }
                for partner in partners
            ]
        )
        return partners

    @classmethod
    def new_batch(cls, registrants=None, amount="100.00", **vals):
        batch = cls.env["g2p.payment.batch"].create(
            {
                "program_name": "Test program",
                "program_mnemonic": "TPROG",
                "cycle_mnemonic": "C1",
                "connector_id": cls.connector.id,
                "funding_account_number": cls.fund.account_number,
                "currency_id": cls.kes.id,
                **vals,
            }
        )
        if registrants:
            cls.env["g2p.payment.batch.builder"]._add_payments(
                batch, [(partner, Decimal(amount)) for partner in registrants]
            )
        return batch

    def fund_amounts(self):
        """(book, blocked, available) of the funding account, exact."""
        return decimals(
            self.env,
            """SELECT book_balance::text, blocked_amount::text,
                      available_balance::text FROM g2p_sim_account WHERE id = %s""",
            self.fund.id,
        )

    def batch_amounts(self, batch):
        """(total, paid, failed) of the batch's payments, exact."""
        return decimals(
            self.env,
            """SELECT coalesce(sum(amount), 0)::text,
                      coalesce(sum(amount) FILTER (WHERE state = 'paid'), 0)::text,
                      coalesce(sum(amount) FILTER (WHERE state = 'failed'), 0)::text
                 FROM g2p_payment WHERE batch_id = %s""",
            batch.id,
        )
