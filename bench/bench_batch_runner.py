"""A payment batch run by the served suite: what a program officer waits for.

The suite as it is served (``bench/odoo_bank.py``: a fresh database without demo
data, Odoo with 3 prefork workers and queue_job's runner with the job channels of
``scripts/run.sh``). A batch of 10,000 payments (default) with the in-database
connector (``--connector http``: through the bank app over HTTP, the statements
pushed by the bank to the connector's upload URL), sent in bank batches of 1,000:
10% of the payees bank at the simulated bank (1% of those with closed accounts), the
others at another bank, of which 2% fail. Timed from the officer's Run (the batch
confirmed) until the batch is reconciled, and until every payment is at the bank
(sent). Also counted: the job runs beyond one per job (a serialization failure makes
queue_job run a job again 5 s later), ERROR lines in Odoo's log, and the outcome
(paid, failed, the funding account's book balance = opening - paid).

With ``--kill-server-after S`` the whole server is SIGKILLed S seconds after Run (a
crash, a power cut) and started again at once: nobody requeues anything, the batch
must finish by itself (the cron *requeue jobs whose worker died* runs its step again),
each payment at the bank once, the money exact. Also timed: restart → reconciled.

    python3 bench/bench_batch_runner.py [--payments 10000] [--chunk 1000] [--repeat 3]
        [--connector simulator|http] [--workers 3] [--kill-server-after S]
"""

import argparse
import time
import uuid
from datetime import date
from decimal import Decimal

from _common import out
from bench_bank_api import summary, write_results
from bench_payment_batch import AMOUNT, create_registrants
from odoo_bank import serve, server_arguments


def connector_values(bank, params, kind):
    """The batch's connector: the in-database simulator, or the HTTP connector to
    the served bank app, to which the simulator pushes its statements (the
    documented configuration of a bank over HTTP)."""
    if kind == "simulator":
        params.set_param("g2p_bank_simulator.statement_upload_url", "")
        return {"connector_type": "simulator"}
    base = f"http://127.0.0.1:{bank.port}"
    params.set_param("web.base.url", base)
    return {
        "connector_type": "http",
        "base_url": f"{base}/api/v1/bank",
        "api_key": bank.api_key,
    }


def run_batch(bank, payments, chunk, timeout, kind, kill_after=None):
    """One batch from Run to reconciled (the server killed and restarted
    ``kill_after`` seconds after Run); its figures."""
    tag = uuid.uuid4().hex[:6].upper()
    sim_bic = f"S{tag}"
    with bank._env() as env:
        params = env["ir.config_parameter"]
        params.set_param("g2p_bank_simulator.bank_code", sim_bic)
        params.set_param("g2p_bank_simulator.failure_rate", "2")
        people = create_registrants(env, tag, payments, sim_bic)
        kes = env.ref("base.KES")
        fund = env["g2p.sim.account"].create(
            {"account_number": f"RFUND-{tag}", "name": "Bench", "currency_id": kes.id}
        )
        opening = AMOUNT * payments * 2
        fund.deposit(opening, f"BENCH{tag}")
        connector = env["g2p.bank.connector"].create(
            {"name": f"Bench {tag}", **connector_values(bank, params, kind)}
        )
        if kind == "http":
            params.set_param(
                "g2p_bank_simulator.statement_upload_url", connector.upload_url
            )
        batch = env["g2p.payment.batch"].create(
            {
                "program_name": f"Bench {tag}",
                "connector_id": connector.id,
                "funding_account_number": fund.account_number,
                "currency_id": kes.id,
                "max_bank_batch_size": chunk,
            }
        )
        env["g2p.payment.batch.builder"]._add_payments(
            batch, [(person, AMOUNT) for person in people]
        )
        batch_id, fund_id = batch.id, fund.id
    with bank._env() as env:
        env["g2p.payment.batch"].browse(batch_id).action_confirm()
    log_offset = bank.log.stat().st_size
    with bank._sql() as cr:
        cr.execute("SELECT coalesce(max(id), 0) FROM queue_job")
        last_job = cr.fetchone()[0]
    start = time.perf_counter()
    with bank._env() as env:
        env["g2p.payment.batch"].browse(batch_id).action_run()
    restarted = None
    if kill_after is not None:
        time.sleep(kill_after)
        bank.kill_server()
        bank.start()
        restarted = time.perf_counter()
    sent = None
    while True:
        with bank._sql() as cr:
            cr.execute(
                "SELECT state, step_error FROM g2p_payment_batch WHERE id = %s",
                [batch_id],
            )
            state, error = cr.fetchone()
        elapsed = time.perf_counter() - start
        if sent is None and state in ("sent", "partially_reconciled", "reconciled"):
            sent = elapsed
        if state == "reconciled":
            break
        if error or elapsed > timeout:
            raise RuntimeError(
                f"batch {batch_id} is {state} after {elapsed:.0f} s: {error}"
            )
        time.sleep(0.1)
    with bank._sql() as cr:
        cr.execute(
            """SELECT count(*), coalesce(sum(greatest(retry - 1, 0)), 0)
                 FROM queue_job WHERE id > %s""",
            [last_job],
        )
        jobs, reruns = cr.fetchone()
        cr.execute(
            """SELECT count(*) FILTER (WHERE state = 'paid'),
                      count(*) FILTER (WHERE state = 'failed'),
                      coalesce(sum(amount) FILTER (WHERE state = 'paid'), 0)::text
                 FROM g2p_payment WHERE batch_id = %s""",
            [batch_id],
        )
        paid, failed, paid_amount = cr.fetchone()
        cr.execute(
            "SELECT book_balance::text FROM g2p_sim_account WHERE id = %s", [fund_id]
        )
        book = Decimal(cr.fetchone()[0])
        # Payments the bank holds more than once, or debited more than once (a
        # failed payment's refund is a credit).
        cr.execute(
            """SELECT count(*) FROM (
                   SELECT p.payment_reference_number
                     FROM g2p_sim_payment p
                     LEFT JOIN g2p_sim_ledger_entry e
                       ON e.payment_id = p.id AND e.account_id = %s
                      AND e.signed_amount < 0
                    WHERE p.account_id = %s
                    GROUP BY 1 HAVING count(DISTINCT p.id) > 1 OR count(e.id) > 1
               ) twice""",
            [fund_id, fund_id],
        )
        twice = cr.fetchone()[0]
    with open(bank.log, "rb") as log:
        log.seek(log_offset)
        errors = sum(1 for line in log if b" ERROR " in line)
    return {
        "reconciled_s": elapsed,
        "sent_s": sent,
        "restart_to_reconciled_s": time.perf_counter() - restarted
        if restarted
        else 0.0,
        "twice": twice,
        "jobs": jobs,
        "reruns": int(reruns),
        "error_lines": errors,
        "paid": paid,
        "failed": failed,
        "book_ok": book == opening - Decimal(paid_amount),
    }


def render(runs, versions, args):
    def figure(key, unit="", digits=2):
        values = summary([run[key] for run in runs])
        return (
            f"{values['median']:.{digits}f}{unit} "
            f"({values['min']:.{digits}f}–{values['max']:.{digits}f})"
        )

    all_ok = all(run["book_ok"] for run in runs)
    lines = [
        f"# A payment batch run by the served suite ({date.today().isoformat()})",
        "",
        (
            f"{args.payments:,} payments in bank batches of {args.chunk:,}, connector "
            f"{args.connector}, Odoo with {versions['workers']} workers and "
            f"queue_job's runner; {len(runs)} runs, median (min–max)."
        ),
        "",
        "| figure | median (min–max) |",
        "| --- | --- |",
        f"| Run → all payments at the bank (sent) | {figure('sent_s', ' s')} |",
        f"| Run → reconciled | {figure('reconciled_s', ' s')} |",
        *(
            [
                (
                    f"| server SIGKILLed {args.kill_server_after:g} s after Run; "
                    "restart → reconciled | "
                    f"{figure('restart_to_reconciled_s', ' s')} |"
                )
            ]
            if args.kill_server_after is not None
            else []
        ),
        f"| payments at the bank or debited twice | {figure('twice', '', 0)} |",
        f"| jobs | {figure('jobs', '', 0)} |",
        f"| job runs beyond one per job | {figure('reruns', '', 0)} |",
        f"| ERROR lines in Odoo's log | {figure('error_lines', '', 0)} |",
        f"| paid | {figure('paid', '', 0)} |",
        f"| failed (closed accounts, other bank) | {figure('failed', '', 0)} |",
        f"| funding account's book = opening − paid | {all_ok} |",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    server_arguments(parser, port=8283, db="g2p_bank_bench_runner", workers=3)
    parser.add_argument(
        "--connector",
        choices=("simulator", "http"),
        default="simulator",
        help="http: to the served bank app, statements pushed to the connector",
    )
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=1_000)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--kill-server-after",
        type=float,
        help="SIGKILL the whole server this many seconds after Run, start it again",
    )
    args = parser.parse_args()
    bank = serve(args)
    runs = []
    try:
        for _run in range(args.repeat):
            runs.append(
                run_batch(
                    bank,
                    args.payments,
                    args.chunk,
                    args.timeout,
                    args.connector,
                    args.kill_server_after,
                )
            )
            out(
                "run: "
                + ", ".join(
                    f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in runs[-1].items()
                )
            )
        versions = bank.versions()
    finally:
        bank.stop()
    markdown = render(runs, versions, args)
    out(markdown)
    name = "batch-runner" + ("-http" if args.connector == "http" else "")
    name += "-killed" if args.kill_server_after is not None else ""
    out(f"written: {write_results(name, runs, versions, markdown)}")


if __name__ == "__main__":
    main()
