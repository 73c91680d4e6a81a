"""Side by side (issue #6): our sponsor bank and the OpenG2P example bank, same
machine, same PostgreSQL, same load client, scenario by scenario.

Both systems are set up fresh and served at the same time; each scenario runs on
ours, then on the peer (the order alternates with the runs, so that a machine busy
with other work weighs on both alike). Printed and written to
``bench/results/<date>-side-by-side.md`` (and ``.json``):

- rates: check_funds and block_funds at 1 and 8 clients (req/s, p50, p99); ours with
  the API key (as shipped) and without credentials (as the peer, which has none); and
  Odoo's own ``GET /web/health``, what any request to Odoo costs
- initiate_payment of 1,000 and 10,000 payments: time to the answer
- end to end, 10,000 payments: request -> all payments executed -> MT940 available
- the MT940 of 100,000 ledger entries
- correctness: 20 concurrent blocks on an account that can fund exactly 5; 10 replays
  of one initiate_payment; a worker killed in the middle of a 10,000-payment batch
  and restarted (double debits, lost payments)
- floors: PostgreSQL COPY of the same payment rows (10,000 and 100,000) and
  ``json.loads`` of the same request bodies, the least any system has to do.

    python3 bench/side_by_side.py [--repeat 3] [--batch-repeat 3] [--duration 4]

The peer is ``peer_example_bank.ExampleBankPeer`` (its own virtual environment,
Redis and database, set up by the module itself).
"""

import argparse
import io
import json
import os
import statistics
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import load
import psycopg2
from _common import out
from bench_bank_api import (
    block_body,
    block_for,
    check_body,
    initiate,
    payment_requests,
    tag,
    throughput,
    write_results,
)
from psycopg2 import sql

HERE = Path(__file__).resolve().parent
#: Our bank app without credentials: measured for the rates only, as the peer has
#: no authentication; every other scenario runs on the app with the API key.
OPEN = "ours (no credentials)"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", default=os.environ.get("G2P_STATE_DIR"))
    parser.add_argument("--port", type=int, default=8279, help="our Odoo")
    parser.add_argument("--peer-port", type=int, default=8300, help="and the next")
    parser.add_argument("--peer-redis-port", type=int, default=6391)
    parser.add_argument("--db", default="g2p_bank_bench_side")
    parser.add_argument("--peer-db", default="g2p_bank_bench_peer")
    parser.add_argument("--repeat", type=int, default=3, help="runs of short scenarios")
    parser.add_argument(
        "--batch-repeat",
        type=int,
        default=3,
        help="runs of the 10,000-payment and MT940 scenarios",
    )
    parser.add_argument("--duration", type=float, default=4, help="seconds per rate")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--replays", type=int, default=10)
    parser.add_argument("--replay-size", type=int, default=100)
    parser.add_argument("--beat", type=float, default=1, help="peer's beat period")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--kill-after",
        type=float,
        default=20,
        help="seconds from the request to killing the peer's worker",
    )
    parser.add_argument("--name", default="side-by-side", help="results file name")
    parser.add_argument(
        "--only", default="", help="comma-separated scenario groups (default: all)"
    )
    return parser.parse_args()


class Run:
    """Figures per scenario and system; the Markdown and JSON of the run."""

    def __init__(self, systems):
        self.systems = systems  # label -> system
        self.rows = {}  # scenario -> label -> list of figures
        self.units = {}
        self.checks = {}  # check -> (expected, {label: value})
        self.floors = {}
        self.failures = []  # scenario groups stopped by an error (a timeout)

    def add(self, scenario, label, value, unit):
        self.rows.setdefault(scenario, {}).setdefault(label, []).append(value)
        self.units[scenario] = unit
        out(f"  {scenario} [{label}]: {value:.4g} {unit}")

    def check(self, name, expected, values):
        self.checks.setdefault(name, (expected, {}))[1].update(values)
        out(f"  check {name}: {values} (expected {expected})")

    def markdown(self, versions, args):
        labels = list(self.systems)
        lines = [
            f"# Side by side, {date.today().isoformat()}",
            "",
            (
                f"{os.cpu_count()} cores shared with other work; PostgreSQL "
                f"{versions['ours'].get('postgresql', '?')} with default settings "
                f"(fsync on) for both. Short scenarios {args.repeat} runs, "
                f"10,000-payment and MT940 scenarios {args.batch_repeat}; rates over "
                f"{args.duration:g} s each. Median (min–max). Ratio: how many "
                "times better ours is (rates: ours / peer; times: peer / ours), "
                "run by run (the two systems' runs i, minutes apart), median "
                "(min–max)."
            ),
            "",
            "| scenario | "
            + " | ".join(labels)
            + " | ratio (no credentials / peer) | ratio (API key / peer) | floor |",
            "| --- | " + " | ".join("---" for _ in labels) + " | --- | --- | --- |",
        ]
        for scenario, by_label in self.rows.items():
            unit = self.units[scenario]
            cells = [_cell(by_label.get(label), unit) for label in labels]
            ratios = [
                _ratio(by_label.get(label), by_label.get("peer"), unit)
                for label in (OPEN, "ours (API key)")
            ]
            floor = self.floors.get(scenario, "")
            lines.append(
                f"| {scenario} | " + " | ".join(cells + ratios) + f" | {floor} |"
            )
        lines += [
            "",
            "| correctness | " + " | ".join(labels) + " | expected |",
            "| --- | " + " | ".join("---" for _ in labels) + " | --- |",
        ]
        for name, (expected, values) in self.checks.items():
            lines.append(
                f"| {name} | "
                + " | ".join(str(values.get(label, "")) for label in labels)
                + f" | {expected} |"
            )
        if self.failures:
            lines += ["", "Stopped by an error (figures after it are missing):", ""]
            lines += [f"- {failure}" for failure in self.failures]
        lines += ["", "Versions:", ""]
        for label, version in versions.items():
            lines.append(
                f"- {label}: " + ", ".join(f"{k} {v}" for k, v in version.items())
            )
        return "\n".join(lines) + "\n"


def _cell(values, unit):
    if not values:
        return ""
    median = statistics.median(values)
    digits = 0 if unit == "req/s" else 2
    text = f"{median:.{digits}f} {unit}"
    if len(values) > 1:
        text += f" ({min(values):.{digits}f}–{max(values):.{digits}f})"
    return text


def _ratio(ours, peer, unit):
    """Pair by pair: run i of ours against run i of the peer (the two ran minutes
    apart, in alternating order); the median of those ratios (min–max)."""
    ratios = [
        (mine / theirs if unit == "req/s" else theirs / mine)
        for mine, theirs in zip(ours or [], peer or [], strict=False)
        if mine and theirs
    ]
    if not ratios:
        return ""
    text = f"{statistics.median(ratios):.2f}×"
    if len(ratios) > 1:
        text += f" ({min(ratios):.2f}–{max(ratios):.2f})"
    return text


# ------------------------------------------------------------------ scenarios
def rates(run, args, pairs):
    for call in ("check_funds", "block_funds"):
        for clients in map(int, args.clients.split(",")):
            scenario = f"{call}, {clients} client{'s' if clients > 1 else ''}"
            for repeat in range(args.repeat):
                for label, system, account in _ordered(pairs, repeat):
                    body = (check_body if call == "check_funds" else block_body)(
                        account
                    )
                    result = throughput(system, call, body, clients, args.duration)
                    bad = {k: v for k, v in result["statuses"].items() if k != 200}
                    if bad:
                        out(f"  {label} {call}: answers other than 200: {bad}")
                    run.add(scenario, label, result["rps"], "req/s")
                    run.add(f"{scenario}, p50", label, result["p50_ms"], "ms")
                    run.add(f"{scenario}, p99", label, result["p99_ms"], "ms")
    # What any Odoo request costs, before an app does anything: Odoo's own health
    # check (no database work, no FastAPI), with the same client.
    ours = {label: system for label, system, _account in pairs}["ours (API key)"]
    for clients in map(int, args.clients.split(",")):
        scenario = (
            f"Odoo's GET /web/health, {clients} client{'s' if clients > 1 else ''}"
        )
        for _repeat in range(args.repeat):
            result = load.run(
                f"http://127.0.0.1:{ours.port}/web/health",
                None,
                clients=clients,
                duration=args.duration,
                warmup=3,
                method="GET",
            )
            run.add(scenario, "ours (API key)", result["rps"], "req/s")
            run.add(f"{scenario}, p50", "ours (API key)", result["p50_ms"], "ms")


def initiates(run, args, pairs):
    """initiate_payment of ``--small`` payments (time to answer), then wait until
    they are executed and reported so that the next run starts on an idle system."""
    scenario = f"initiate_payment, {args.small:,} payments"
    for _label, system, account in _ordered(pairs, 0, api_key_only=True):
        warm_up(system, account, args.timeout)
    for repeat in range(args.repeat):
        for label, system, account in _ordered(pairs, repeat, api_key_only=True):
            requests = payment_requests(
                args.small, f"S{tag()}", account, block_for(system, account, args.small)
            )
            run.add(scenario, label, initiate(system, requests), "s")
            system.wait_executed(_refs(requests), args.timeout)
            system.statement(account, args.timeout)


def warm_up(system, account, timeout, rounds=3, at_once=2):
    """Untimed initiate_payment calls of 10 payments, ``at_once`` at a time: the
    first call of a kind in a server process fills that process's caches (ours
    has 2 Odoo workers; calls at once reach both)."""
    refs = []

    def call():
        requests = payment_requests(
            10, f"W{tag()}", account, block_for(system, account, 10)
        )
        initiate(system, requests)
        refs.extend(_refs(requests))

    for _round in range(rounds):
        threads = [threading.Thread(target=call) for _index in range(at_once)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    system.wait_executed(refs, timeout)
    system.statement(account, timeout)


def end_to_end(run, args, pairs):
    """10,000 payments: time to the answer, until all are executed, until the MT940
    that reports them is available; the MT940 must name every payment."""
    for repeat in range(args.batch_repeat):
        for label, system, account in _ordered(pairs, repeat, api_key_only=True):
            system.statement(account, args.timeout)  # earlier entries reported
            requests = payment_requests(
                args.batch, f"E{tag()}", account, block_for(system, account, args.batch)
            )
            refs = _refs(requests)
            start = time.perf_counter()
            answered = initiate(system, requests)
            system.wait_executed(refs, args.timeout)
            executed = time.perf_counter() - start
            text = system.statement(account, args.timeout)
            available = time.perf_counter() - start
            counts = system.executed(refs)
            missing = sum(1 for ref in refs if ref not in text)
            run.add(f"initiate_payment, {args.batch:,} payments", label, answered, "s")
            run.add(
                f"{args.batch:,} payments: request → all executed", label, executed, "s"
            )
            run.add(
                f"{args.batch:,} payments: request → MT940 available",
                label,
                available,
                "s",
            )
            run.check(
                f"end to end {args.batch:,}: debits / double debits / "
                f"payments missing from the MT940 (run {repeat + 1})",
                f"{args.batch} / 0 / 0",
                {label: f"{counts['debits']} / {counts['double_debits']} / {missing}"},
            )


def statements(run, args, pairs):
    scenario = f"MT940 of {args.entries:,} ledger entries"
    for repeat in range(args.batch_repeat):
        for label, system, _account in _ordered(pairs, repeat, api_key_only=True):
            account = f"M{tag()}"
            system.fund_account(account, "KES", Decimal(1000))
            system.seed_entries(account, args.entries)
            start = time.perf_counter()
            text = system.statement(account, args.timeout)
            run.add(scenario, label, time.perf_counter() - start, "s")
            run.check(
                f"MT940 of {args.entries:,} entries: :61: lines (run {repeat + 1})",
                f"{args.entries} (+1 where the deposit is an entry)",
                {label: text.count(":61:")},
            )


def concurrent_blocks(run, args, pairs):
    """20 block_funds of 100 at once on an account holding exactly 500."""
    for label, system, _account in _ordered(pairs, 0, api_key_only=True):
        account = f"C{tag()}"
        system.fund_account(account, "KES", Decimal(500))
        result = load.run(
            f"{system.base_url}/block_funds",
            block_body(account, amount=100),
            clients=20,
            requests=20,
            headers=system.headers,
            keep_answers=True,
        )
        succeeded = sum(
            1
            for answer in result["answers"]
            if isinstance(answer, dict) and answer.get("status") == "success"
        )
        balances = system.balances(account)
        run.check(
            "20 concurrent blocks of 100 on 500: blocks granted / blocked / available",
            "5 / 500 / 0",
            {
                label: f"{succeeded} / {balances['blocked']:.2f} / "
                f"{balances['available']:.2f}"
            },
        )


def replays(run, args, pairs):
    """The same initiate_payment sent ``--replays`` times: each payment once."""
    for label, system, account in _ordered(pairs, 0, api_key_only=True):
        requests = payment_requests(
            args.replay_size,
            f"R{tag()}",
            account,
            block_for(system, account, args.replay_size),
        )
        answers = [
            load.post_json(
                f"{system.base_url}/initiate_payment", requests, system.headers
            )
            for _replay in range(args.replays)
        ]
        refs = _refs(requests)
        try:
            system.wait_executed(refs, args.timeout)
        except TimeoutError as error:
            out(f"  {label}: {error}")
        counts = system.executed(refs)
        statuses = sorted(
            {
                str(a.get("status")) if isinstance(a, dict) else str(c)
                for c, a in answers
            }
        )
        run.check(
            f"{args.replays} replays of {args.replay_size} payments: answers / "
            "executed / debits / double debits",
            f"success / {args.replay_size} / {args.replay_size} / 0",
            {
                label: f"{','.join(statuses)} / {counts['executed']} / "
                f"{counts['debits']} / {counts['double_debits']}"
            },
        )


def killed_worker(run, args, pairs):
    """A 10,000-payment batch whose worker is killed while it executes it, then
    restarted: every payment paid exactly once?"""
    for label, system, account in _ordered(pairs, 0, api_key_only=True):
        requests = payment_requests(
            args.batch, f"K{tag()}", account, block_for(system, account, args.batch)
        )
        refs = _refs(requests)
        initiate(system, requests)
        if getattr(system, "executes_in_one_transaction", False):
            system.kill_worker()  # ours: as soon as the batch's job has started
        else:
            # The peer's payments show as executed only once its whole batch is
            # done: it is killed a fixed time after the request, mid-batch.
            time.sleep(args.kill_after)
            system.kill_worker()
        killed = system.executed(refs)
        system.restart_worker()
        start = time.perf_counter()
        try:
            system.wait_executed(refs, args.timeout)
        except TimeoutError as error:
            out(f"  {label}: {error}")
        recovered = time.perf_counter() - start
        counts = system.executed(refs)
        # One run (a correctness scenario): its time is reported with its counts,
        # not as a figure of the performance table, whose figures are medians.
        run.check(
            f"worker killed during {args.batch:,} payments, then restarted: executed "
            "when killed / executed / double debits / lost / seconds from the restart "
            "until all executed",
            f"any / {args.batch} / 0 / 0 / any",
            {
                label: f"{killed['executed']} / {counts['executed']} / "
                f"{counts['double_debits']} / {args.batch - counts['executed']} / "
                f"{recovered:.2f}"
            },
        )


def floors(run, args, pg):
    """The least work for the same data: COPY of the payment rows into PostgreSQL
    (committed), json.loads of the request bodies."""
    database = sql.Identifier(f"{args.db}_floor")
    admin = psycopg2.connect(dbname="postgres", **pg)
    admin.autocommit = True
    with admin.cursor() as cr:
        cr.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(database))
        cr.execute(sql.SQL("CREATE DATABASE {}").format(database))
    connection = psycopg2.connect(dbname=f"{args.db}_floor", **pg)
    try:
        for count in sorted({args.small, args.batch, args.entries}):
            rows = payment_requests(count, f"F{tag()}", "FLOOR", "BLK")
            columns = list(rows[0])
            names = sql.SQL(", ").join(map(sql.Identifier, columns))
            body = json.dumps(rows)
            timings, loads = [], []
            for _repeat in range(args.repeat):
                start = time.perf_counter()
                json.loads(body)
                loads.append(time.perf_counter() - start)
                buffer = io.StringIO(
                    "".join(
                        "\t".join(str(row[c]) for c in columns) + "\n" for row in rows
                    )
                )
                with connection.cursor() as cr:
                    cr.execute("DROP TABLE IF EXISTS floor_payment")
                    cr.execute(
                        sql.SQL(
                            "CREATE TABLE floor_payment (id serial PRIMARY KEY, {}, "
                            "UNIQUE (payment_reference_number))"
                        ).format(
                            sql.SQL(", ").join(
                                sql.SQL("{} varchar").format(sql.Identifier(c))
                                for c in columns
                            )
                        )
                    )
                connection.commit()
                start = time.perf_counter()
                with connection.cursor() as cr:
                    cr.copy_expert(
                        sql.SQL("COPY floor_payment ({}) FROM STDIN").format(names),
                        buffer,
                    )
                connection.commit()
                timings.append(time.perf_counter() - start)
            floor = (
                f"COPY {statistics.median(timings):.3f} s + json.loads "
                f"{statistics.median(loads):.3f} s"
            )
            out(f"  floor, {count:,} rows: {floor}")
            for scenario in (
                f"initiate_payment, {count:,} payments",
                f"MT940 of {count:,} ledger entries",
            ):
                run.floors[scenario] = floor
        single = json.dumps(check_body("FLOOR"))
        start = time.perf_counter()
        for _index in range(10_000):
            json.loads(single)
        per_request = (time.perf_counter() - start) / 10_000
        for call in ("check_funds", "block_funds"):
            for clients in map(int, args.clients.split(",")):
                scenario = f"{call}, {clients} client{'s' if clients > 1 else ''}"
                run.floors[scenario] = f"json.loads {1 / per_request:,.0f} /s"
    finally:
        connection.close()
        with admin.cursor() as cr:
            cr.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(database))
        admin.close()


# ------------------------------------------------------------------ helpers
def _refs(requests):
    return [request["payment_reference_number"] for request in requests]


def _ordered(pairs, repeat, api_key_only=False):
    """(label, system, account) in this run's order: ours first on even runs."""
    chosen = [pair for pair in pairs if not (api_key_only and pair[0] == OPEN)]
    return chosen if repeat % 2 == 0 else chosen[::-1]


GROUPS = {
    "rates": rates,
    "initiate": initiates,
    "end_to_end": end_to_end,
    "statement": statements,
    "blocks": concurrent_blocks,
    "replays": replays,
    "kill": killed_worker,
}


def main():
    args = parse_args()
    from odoo_bank import PG, OdooBank
    from peer_example_bank import ExampleBankPeer

    state_dir = Path(args.state_dir or HERE.parent / ".local")
    ours = OdooBank(state_dir, args.port, args.db)
    peer = ExampleBankPeer(
        state_dir,
        port=args.peer_port,
        db_name=args.peer_db,
        redis_port=args.peer_redis_port,
    )
    groups = [g for g in (args.only or ",".join(GROUPS)).split(",") if g]
    run = Run({"ours (API key)": ours, OPEN: ours, "peer": peer})
    started = []
    try:
        for system in (ours, peer):
            system.setup()
            system.start(beat_seconds=args.beat)
            started.append(system)
        account = f"P{tag()}"
        for system in (ours, peer):
            system.fund_account(account, "KES", Decimal(100000000))
        pairs = [
            ("ours (API key)", ours, account),
            (OPEN, _NoCredentials(ours), account),
            ("peer", peer, account),
        ]
        versions = {"ours": ours.versions(), "peer": peer.versions()}
        for group in groups:
            out(f"== {group}")
            try:
                GROUPS[group](run, args, pairs)
            except (TimeoutError, RuntimeError, OSError, KeyError, ValueError) as error:
                # A scenario that times out on one system: the other groups still run.
                out(f"  {group} stopped: {error!r}")
                run.failures.append(f"{group}: {error!r}")
        out("== floors")
        floors(run, args, {k: v for k, v in PG.items()})
    finally:
        for system in reversed(started):
            system.stop()
    markdown = run.markdown(versions, args)
    out(markdown)
    payload = {
        "rows": run.rows,
        "units": run.units,
        "checks": run.checks,
        "floors": run.floors,
        "failures": run.failures,
        "args": vars(args),
    }
    out(f"written: {write_results(args.name, payload, versions, markdown)}")


class _NoCredentials:
    """Our bank as seen through the app without credentials (rates only)."""

    def __init__(self, bank):
        self.bank = bank

    @property
    def base_url(self):
        return self.bank.base_url.replace("/api/v1/bank", "/api/v1/bank-open")

    headers = {}

    def __getattr__(self, name):
        return getattr(self.bank, name)


if __name__ == "__main__":
    main()
