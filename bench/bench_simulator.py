"""Sponsor-bank simulator: the performance targets of issue #3.

- initiate_payment of a 10,000-payment batch, recorded and committed  (target <= 2 s)
- processing 100,000 payments: ledger written, statuses set          (target <= 60 s)
- the MT940 statement of those ~100,000 entries                      (target <= 10 s)

Services are called in-process (no HTTP): what is measured is the simulator itself.
Processing and statements are the queue jobs' bodies, called directly. 10% of the
beneficiaries are customers of the simulated bank, the others go to clearing accounts;
the failure rate for other banks is set to 5% during the run (and restored).
"""

from decimal import Decimal

from _common import Timings, environment, out, parse_args, peak_rss_growth

TARGETS = {
    "initiate_payment, 10,000 payments": "<= 2 s",
    "process_batch, 100,000 payments": "<= 60 s",
    "MT940 statement, ~100,000 entries": "<= 10 s",
}


def payment_requests(count, prefix, block, account, bank_code):
    return [
        {
            "payment_reference_number": f"{prefix}{i:08d}",
            "remitting_account": account,
            "remitting_account_currency": "KES",
            "payment_amount": "10.50",
            "funds_blocked_reference_number": block,
            "beneficiary_name": f"Beneficiary {i}",
            "beneficiary_account": f"{prefix}B{i:08d}",
            "beneficiary_account_currency": "KES",
            "beneficiary_account_type": "BANK_ACCOUNT",
            "beneficiary_bank_code": bank_code if i % 10 == 0 else "OTHERBANK",
            "beneficiary_branch_code": "001",
            "narrative_1": "Cash transfer",
            "narrative_2": "PROG",
            "narrative_3": "CYCLE1",
            "narrative_4": f"BEN{i}",
            "payment_date": "2026-11-22",
        }
        for i in range(count)
    ]


def main():
    args = parse_args(
        __doc__,
        initiate=(int, 10_000, "payments per initiate_payment call"),
        process=(int, 100_000, "payments per processed batch"),
    )
    timings = Timings()
    with environment(args.registry) as env:
        params = env["ir.config_parameter"]
        failure_rate = params.get_param("g2p_bank_simulator.failure_rate", "0")
        params.set_param("g2p_bank_simulator.failure_rate", "5")
        bank_code = params.get_param("g2p_bank_simulator.bank_code", "SIMBANK")
        env.ref("base.KES").active = True
        account = env["g2p.sim.account"].create(
            {
                "account_number": f"BENCH-{args.tag}",
                "name": "Bench program",
                "currency_id": env.ref("base.KES").id,
            }
        )
        account.deposit("100000000.00", f"BENCH{args.tag}")
        total = Decimal("10.50") * (args.initiate + args.process) * args.repeat
        number = account.account_number
        block = env["g2p.sim.bank"].block_funds(number, "KES", total).reference
    try:
        for run in range(args.repeat):
            small = payment_requests(
                args.initiate,
                f"S{args.tag}{run}",
                block,
                number,
                bank_code,
            )
            with (
                timings.measure("initiate_payment, 10,000 payments"),
                environment(args.registry) as env,
            ):
                env["g2p.sim.bank"].initiate_payment(small)
            large = payment_requests(
                args.process,
                f"L{args.tag}{run}",
                block,
                number,
                bank_code,
            )
            with environment(args.registry) as env:
                batch_id = env["g2p.sim.bank"].initiate_payment(large).id
            with (
                timings.measure("process_batch, 100,000 payments"),
                environment(args.registry) as env,
            ):
                batch = env["g2p.sim.payment.batch"].browse(batch_id)
                env["g2p.sim.bank"].process_batch(batch)
                counts = (batch.success_count, batch.failed_count)
            with environment(args.registry) as env:
                statement = env["g2p.sim.bank"].generate_statement(number)
                statement_id = statement.id
            with (
                peak_rss_growth() as growth,
                timings.measure("MT940 statement, ~100,000 entries"),
                environment(args.registry) as env,
            ):
                env["g2p.sim.statement"].browse(statement_id)._job_generate()
            with environment(args.registry) as env:
                statement = env["g2p.sim.statement"].browse(statement_id)
                figures = (
                    statement.state,
                    statement.entry_count,
                    statement.sequence_count,
                    statement.attachment_id.file_size,
                )
            out(
                f"run {run + 1}: batch paid {counts[0]}, failed {counts[1]}; "
                f"statement {figures[0]}, {figures[1]} entries, {figures[2]} messages, "
                f"{figures[3]:,} bytes; resident memory grew by at most "
                f"{growth['mb']:.0f} MB while writing it"
            )
    finally:
        with environment(args.registry) as env:
            env["ir.config_parameter"].set_param(
                "g2p_bank_simulator.failure_rate", failure_rate
            )
    timings.print(TARGETS)


if __name__ == "__main__":
    main()
