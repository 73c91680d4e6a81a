"""Payment batch: the performance target of issue #5.

A batch of 100,000 payments (default) from confirmation to fully reconciled with the
in-database (simulator) connector: target <= 5 minutes, with the time of each step.

Registrants and their accounts are written in bulk SQL (set-up, not measured); the
batch is built with the officer's code path (measured apart). Then the batch is
confirmed and run: every queued job (ours and the bank's) is performed in id order,
committed one by one, as queue_job's runner would do with one worker. 10% of the
beneficiaries bank at the simulated bank (1% of those with closed accounts), the
others at another bank, of which 2% fail by the simulator's failure rate.

    bench/run.sh payment_batch        (or: python3 bench_payment_batch.py -c CONF -d DB)

One run per invocation (``--repeat`` is not used: a run takes minutes).
"""

import time
from collections import defaultdict
from decimal import Decimal

from _common import environment, out, parse_args

from odoo.tools import SQL

AMOUNT = Decimal("10.50")
TARGET_SECONDS = 300
PARAMS = ("bank_code", "failure_rate", "nonexistent_accounts", "statement_upload_url")


def create_registrants(env, tag, count, sim_bic):
    """``count`` registrants with a primary bank account each, in SQL."""
    cr = env.cr
    cr.execute(
        SQL(
            """INSERT INTO res_bank (name, bic, g2p_name_key, active)
               VALUES (%s, %s, %s, true), (%s, %s, %s, true) RETURNING id""",
            f"Bench sim bank {tag}",
            sim_bic,
            f"bench sim bank {tag}".lower(),
            f"Bench other bank {tag}",
            f"O{tag}",
            f"bench other bank {tag}".lower(),
        )
    )
    sim_bank, other_bank = (row[0] for row in cr.fetchall())
    cr.execute(
        SQL(
            """INSERT INTO res_partner (name, complete_name, is_registrant, is_group,
                      g2p_functional_id, g2p_pay_via_head, active, type)
               SELECT 'Bench ' || i, 'Bench ' || i, true, false,
                      %s || lpad(i::text, 7, '0'), true, true, 'contact'
                 FROM generate_series(1, %s) AS i""",
            f"{tag}-",
            count,
        )
    )
    cr.execute(
        SQL(
            """INSERT INTO res_partner_bank (partner_id, acc_number,
                      sanitized_acc_number, bank_id, g2p_account_type, g2p_state,
                      g2p_is_primary, active, acc_holder_name, g2p_financial_address,
                      allow_out_payment)
               SELECT p.id, p.g2p_functional_id, p.g2p_functional_id,
                      CASE WHEN mod(p.id, 10) = 0 THEN %s ELSE %s END,
                      'bank_account', 'verified', true, true, p.name,
                      p.g2p_functional_id, true
                 FROM res_partner p WHERE p.g2p_functional_id LIKE %s""",
            sim_bank,
            other_bank,
            f"{tag}-%",
        )
    )
    cr.execute(
        SQL(
            """UPDATE res_partner p SET g2p_primary_bank_account_id = a.id
                 FROM res_partner_bank a
                WHERE a.partner_id = p.id AND p.g2p_functional_id LIKE %s""",
            f"{tag}-%",
        )
    )
    # 1% of the simulated bank's customers have closed accounts there.
    cr.execute(
        SQL(
            """INSERT INTO g2p_sim_account (account_number, name, kind, currency_id,
                      state, book_balance, blocked_amount, available_balance)
               SELECT a.acc_number, 'Closed ' || a.acc_number, 'customer', %s,
                      'closed', 0, 0, 0
                 FROM res_partner_bank a
                WHERE a.bank_id = %s AND mod(a.partner_id, 100) = 0""",
            env.ref("base.KES").id,
            sim_bank,
        )
    )
    env.invalidate_all()
    return env["res.partner"].search([("g2p_functional_id", "=like", f"{tag}-%")])


def run_jobs(registry, timings, counts):
    """Perform every pending job, committing each; return when none is left."""
    # Imported once the configuration is read (the addons path).
    from odoo.addons.queue_job.job import Job

    while True:
        with environment(registry) as env:
            uuids = (
                env["queue.job"]
                .search([("state", "in", ("pending", "enqueued"))], order="id", limit=1)
                .mapped("uuid")
            )
        if not uuids:
            return
        with environment(registry) as env:
            job = Job.load(env, uuids[0])
            name = f"{job.model_name}.{job.method_name}"
            start = time.perf_counter()
            job.set_started()
            job.store()
            job.perform()
            env.flush_all()
            timings[name] += time.perf_counter() - start
            counts[name] += 1
            job.set_done()
            job.store()


def main():
    args = parse_args(
        __doc__,
        payments=(int, 100_000, "payments in the batch"),
        chunk=(int, 10_000, "maximum bank-batch size"),
    )
    tag = args.tag
    sim_bic = f"S{tag}"
    with environment(args.registry) as env:
        icp = env["ir.config_parameter"]
        saved = {name: icp.get_param(f"g2p_bank_simulator.{name}") for name in PARAMS}
        icp.set_param("g2p_bank_simulator.bank_code", sim_bic)
        icp.set_param("g2p_bank_simulator.failure_rate", "2")
        icp.set_param("g2p_bank_simulator.nonexistent_accounts", "")
        icp.set_param("g2p_bank_simulator.statement_upload_url", "")
        env.ref("base.KES").active = True
    try:
        with environment(args.registry) as env:
            start = time.perf_counter()
            people = create_registrants(env, tag, args.payments, sim_bic)
            fund = env["g2p.sim.account"].create(
                {
                    "account_number": f"BFUND-{tag}",
                    "name": "Bench program",
                    "currency_id": env.ref("base.KES").id,
                }
            )
            opening = AMOUNT * args.payments * 2
            fund.deposit(opening, f"BENCH{tag}")
            connector = env["g2p.bank.connector"].create(
                {"name": f"Bench {tag}", "connector_type": "simulator"}
            )
            fund_id, fund_number = fund.id, fund.account_number
            connector_id, people_ids = connector.id, people.ids
            out(f"set-up (SQL): {time.perf_counter() - start:.1f}s")
        with environment(args.registry) as env:
            start = time.perf_counter()
            batch = env["g2p.payment.batch"].create(
                {
                    "program_name": "Bench program",
                    "program_mnemonic": "BENCH",
                    "cycle_mnemonic": tag,
                    "connector_id": connector_id,
                    "funding_account_number": fund_number,
                    "currency_id": env.ref("base.KES").id,
                    "max_bank_batch_size": args.chunk,
                }
            )
            env["g2p.payment.batch.builder"]._add_payments(
                batch,
                [(person, AMOUNT) for person in env["res.partner"].browse(people_ids)],
            )
            batch_id = batch.id
            out(
                f"build (add {batch.payment_count:,} registrants, not in the target): "
                f"{time.perf_counter() - start:.1f}s"
            )
        timings, counts = defaultdict(float), defaultdict(int)
        begin = time.perf_counter()
        with environment(args.registry) as env:
            start = time.perf_counter()
            env["g2p.payment.batch"].browse(batch_id).action_confirm()
            timings["confirm (account snapshot)"] = time.perf_counter() - start
        with environment(args.registry) as env:
            env["g2p.payment.batch"].browse(batch_id).action_run()
        run_jobs(args.registry, timings, counts)
        total = time.perf_counter() - begin
        with environment(args.registry) as env:
            batch = env["g2p.payment.batch"].browse(batch_id)
            env.cr.execute(
                SQL(
                    "SELECT book_balance::text FROM g2p_sim_account WHERE id = %s",
                    fund_id,
                )
            )
            book = Decimal(env.cr.fetchone()[0])
            env.cr.execute(
                SQL(
                    """SELECT coalesce(sum(amount), 0)::text FROM g2p_payment
                        WHERE batch_id = %s AND state = 'paid'""",
                    batch_id,
                )
            )
            paid = Decimal(env.cr.fetchone()[0])
            outcome = (
                f"batch {batch.name}: {batch.state}, {batch.paid_count:,} paid, "
                f"{batch.failed_count:,} failed, {batch.sent_count:,} without "
                f"outcome, {batch.error_count} reconciliation errors; funding "
                f"account book {book} = opening {opening} - paid {paid}: "
                f"{book == opening - paid}"
            )
    finally:
        with environment(args.registry) as env:
            for name, value in saved.items():
                env["ir.config_parameter"].set_param(
                    f"g2p_bank_simulator.{name}", value or ""
                )
    out(f"\n{'step':<58} {'jobs':>5} {'seconds':>9}")
    for name, seconds in timings.items():
        out(f"{name:<58} {counts.get(name, 1):>5} {seconds:>8.1f}s")
    verdict = "OK" if total <= TARGET_SECONDS else "OVER TARGET"
    out(f"{'total, confirmation to reconciled':<58} {'':>5} {total:>8.1f}s")
    out(f"target <= {TARGET_SECONDS}s: {verdict}")
    out(outcome)


if __name__ == "__main__":
    main()
