"""The bank app over HTTP: the performance targets of issue #4.

- check_funds and block_funds at 1 and 8 concurrent clients: requests per second,
  p50 and p99 latency (target: >= 200 requests/s at 8 clients)
- initiate_payment of 10,000 payments: time from request to answer (target <= 3 s)
- a batch of 1,000 payments initiated while 4 clients block funds on its funding
  account: time from the request until every payment is executed, and how many times
  the bank's job ran (a serialization failure makes queue_job run it again 5 s later)

The suite runs as it is served (``bench/odoo_bank.py``): a fresh database without
demo data, Odoo with 2 prefork workers and queue_job's runner on its own port, the
client on the same machine (``bench/load.py``). Both authentications are measured:
the API key (as shipped) and "no credentials" (as the example bank). Besides the
rates, the CPU time the server spent per request (Odoo's processes and the
database's backends) is printed: it does not depend on what else the machine runs.

    python3 bench/bench_bank_api.py [--repeat 3] [--duration 5] [--clients 1,8]
                                    [--busy-batch 1000] [--busy-clients 4]
"""

import argparse
import json
import statistics
import threading
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import load
from _common import out
from odoo_bank import serve, server_arguments

HERE = Path(__file__).resolve().parent
TARGETS = {
    "check_funds, 8 clients": ">= 200 req/s",
    "block_funds, 8 clients": ">= 200 req/s",
    "initiate_payment, 10,000 payments": "<= 3 s",
}


# ------------------------------------------------------------------ request bodies
def check_body(account, currency="KES"):
    return {
        "account_number": account,
        "account_currency": currency,
        "total_funds_needed": 10,
    }


def block_body(account, currency="KES", amount=1):
    return {"account_number": account, "currency": currency, "amount": amount}


def payment_requests(count, prefix, account, block, currency="KES"):
    """Example-bank payment requests of 1.00 each; every tenth one to a customer of
    the bank (bank code SIMBANK), the others to another bank."""
    return [
        {
            "payment_reference_number": f"{prefix}{index:07d}",
            "remitting_account": account,
            "remitting_account_currency": currency,
            "payment_amount": 1,
            "funds_blocked_reference_number": block,
            "beneficiary_name": f"Beneficiary {index}",
            "beneficiary_account": f"{prefix}B{index:07d}",
            "beneficiary_account_currency": currency,
            "beneficiary_account_type": "BANK_ACCOUNT",
            "beneficiary_bank_code": "SIMBANK" if index % 10 == 0 else "OTHERBANK",
            "beneficiary_branch_code": "001",
            "narrative_1": "Cash transfer",
            "narrative_2": "PROG",
            "narrative_3": "CYCLE1",
            "narrative_4": f"BEN{index}",
            "narrative_5": "",
            "narrative_6": "",
            "payment_date": date.today().isoformat(),
        }
        for index in range(count)
    ]


def tag():
    return uuid.uuid4().hex[:6].upper()


# ------------------------------------------------------------------ scenarios
def throughput(system, call, body, clients, duration, warmup=3):
    """``load.run`` on one call of the system, with its server CPU time per request
    when the system can tell (``server_cpu_seconds``)."""
    cpu = getattr(system, "server_cpu_seconds", None)
    before = cpu() if cpu else None
    result = load.run(
        f"{system.base_url}/{call}",
        body,
        clients=clients,
        duration=duration,
        headers=system.headers,
        warmup=warmup,
    )
    if cpu:
        # Warm-up requests ran inside the window too.
        served = result["requests"] + warmup * clients
        result["server_cpu_ms"] = 1000 * (cpu() - before) / served
    return result


def block_for(system, account, amount, currency="KES"):
    """A fund block of ``amount`` through the API; its reference."""
    code, answer = load.post_json(
        f"{system.base_url}/block_funds",
        block_body(account, currency, amount),
        system.headers,
    )
    if code != 200 or answer.get("status") != "success":
        raise RuntimeError(f"block_funds answered {code}: {answer}")
    return answer["block_reference_no"]


def initiate(system, requests):
    """Seconds from sending ``requests`` to initiate_payment until its answer."""
    start = time.perf_counter()
    code, answer = load.post_json(
        f"{system.base_url}/initiate_payment", requests, system.headers
    )
    seconds = time.perf_counter() - start
    if code != 200 or answer.get("status") != "success":
        raise RuntimeError(f"initiate_payment answered {code}: {answer}")
    return seconds


def batch_during_blocks(system, account, size, clients, seconds, timeout=600):
    """A batch of ``size`` payments initiated while ``clients`` clients call
    block_funds on its funding account for ``seconds``: seconds from the request
    until all its payments are executed, and how many times the bank's job ran."""
    requests = payment_requests(
        size, f"D{tag()}", account, block_for(system, account, size)
    )
    refs = [request["payment_reference_number"] for request in requests]
    traffic = threading.Thread(
        target=load.run,
        args=(f"{system.base_url}/block_funds", block_body(account)),
        kwargs={"clients": clients, "duration": seconds, "headers": system.headers},
    )
    traffic.start()
    time.sleep(1)  # the blocks are flowing
    start = time.perf_counter()
    initiate(system, requests)
    system.wait_executed(refs, timeout)
    executed = time.perf_counter() - start
    traffic.join()
    return executed, system.job_attempts(refs)


# ------------------------------------------------------------------ output
def summary(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
    }


def write_results(name, rows, versions, markdown):
    """bench/results/<date>-<name>.md and .json; returns the Markdown path."""
    folder = HERE / "results"
    folder.mkdir(exist_ok=True)
    stem = folder / f"{date.today().isoformat()}-{name}"
    stem.with_suffix(".json").write_text(
        json.dumps({"versions": versions, "rows": rows}, indent=2, default=str) + "\n"
    )
    stem.with_suffix(".md").write_text(markdown)
    return stem.with_suffix(".md")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    server_arguments(parser, port=8279, db="g2p_bank_bench_api")
    parser.add_argument("--duration", type=float, default=5, help="seconds per run")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--initiate", type=int, default=10_000)
    parser.add_argument("--auth", default="api_key,none")
    parser.add_argument("--busy-batch", type=int, default=1000)
    parser.add_argument("--busy-clients", type=int, default=4)
    args = parser.parse_args()

    bank = serve(args)
    rows = {}
    try:
        account = f"API-{tag()}"
        bank.fund_account(account, "KES", Decimal(100000000))
        for auth in args.auth.split(","):
            bank.auth = auth
            for clients in map(int, args.clients.split(",")):
                for call, body in (
                    ("check_funds", check_body(account)),
                    ("block_funds", block_body(account)),
                ):
                    runs = [
                        throughput(bank, call, body, clients, args.duration)
                        for _run in range(args.repeat)
                    ]
                    plural = "s" if clients > 1 else ""
                    rows[f"{call}, {clients} client{plural}, {auth}"] = runs
                    out(
                        f"{call:<12} {clients} clients {auth:<8} "
                        + "  ".join(
                            f"{r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} ms "
                            f"p99 {r['p99_ms']:.1f} ms cpu "
                            f"{r.get('server_cpu_ms', 0):.2f} ms {r['statuses']}"
                            for r in runs
                        )
                    )
            seconds = []
            for _run in range(args.repeat):
                requests = payment_requests(
                    args.initiate,
                    f"I{tag()}",
                    account,
                    block_for(bank, account, args.initiate),
                )
                seconds.append(initiate(bank, requests))
            rows[f"initiate_payment, {args.initiate:,} payments, {auth}"] = seconds
            out(f"initiate_payment {args.initiate} {auth}: {seconds}")
        bank.auth = args.auth.split(",")[0]
        busy = [
            batch_during_blocks(
                bank, account, args.busy_batch, args.busy_clients, 2 * args.duration
            )
            for _run in range(args.repeat)
        ]
        scenario = (
            f"{args.busy_batch:,} payments during block_funds on their account "
            f"({args.busy_clients} clients)"
        )
        rows[f"{scenario}: request → executed, {bank.auth}"] = [b[0] for b in busy]
        rows[f"{scenario}: job runs, {bank.auth}"] = [b[1] for b in busy]
        out(f"{scenario} {bank.auth}: {busy}")
        versions = bank.versions()
    finally:
        bank.stop()
    markdown = render(rows, versions, args)
    out(markdown)
    out(f"written: {write_results('bank-api', rows, versions, markdown)}")


def render(rows, versions, args):
    lines = [
        f"# Bank app over HTTP ({date.today().isoformat()})",
        "",
        (
            f"Odoo served with {versions['workers']} workers; {args.repeat} runs of "
            f"{args.duration:g} s per rate; median (min–max). CPU: server time per "
            "request (Odoo processes and PostgreSQL backends)."
        ),
        "",
        "| scenario | auth | median | min | max | p50 | p99 | server CPU | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, runs in rows.items():
        scenario, _sep, auth = key.rpartition(", ")
        target = TARGETS.get(scenario, "")
        if isinstance(runs[0], dict):
            rate = summary([r["rps"] for r in runs])
            p50 = statistics.median(r["p50_ms"] for r in runs)
            p99 = statistics.median(r["p99_ms"] for r in runs)
            cpu = statistics.median(r.get("server_cpu_ms", 0) for r in runs)
            lines.append(
                f"| {scenario} | {auth} | {rate['median']:.0f} req/s "
                f"| {rate['min']:.0f} | {rate['max']:.0f} | {p50:.1f} ms "
                f"| {p99:.1f} ms | {cpu:.2f} ms | {target} |"
            )
        elif all(isinstance(value, int) for value in runs):
            count = summary(runs)
            lines.append(
                f"| {scenario} | {auth} | {count['median']:g} | {count['min']} "
                f"| {count['max']} | | | | {target} |"
            )
        else:
            time_ = summary(runs)
            lines.append(
                f"| {scenario} | {auth} | {time_['median']:.2f} s "
                f"| {time_['min']:.2f} s | {time_['max']:.2f} s | | | | {target} |"
            )
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
