"""Our side of the side-by-side bench: the suite's sponsor bank, served by Odoo.

``OdooBank`` has the interface of the peer (``peer_example_bank.ExampleBankPeer``):
a fresh database without demo data (the four addons), Odoo served as a subprocess
with 2 prefork workers (``workers``) and queue_job's runner (``scripts/_common.sh``'s
configuration and job channels: fewer jobs at once than workers), a client user with
an API key for the bank app, and reads of balances and executed payments in SQL.

Two endpoints serve the same bank app: ``/api/v1/bank`` with the API key (as shipped)
and ``/api/v1/bank-open`` without credentials (the endpoint's technical user, as the
peer, which has no authentication). ``auth`` chooses which one ``base_url`` and
``headers`` point to.
"""

import contextlib
import os
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg2
from load import request_json, require_free_port

REPO = Path(__file__).resolve().parent.parent
ADDONS = "g2p_bank,g2p_bank_simulator,g2p_bank_rest_api,g2p_payment_batch"
_PARSED = []
PG = {"host": "127.0.0.1", "port": 5432, "user": "odoo", "password": "odoo"}


class OdooBank:
    name = "G2P Bank suite (Odoo 18, 2 workers)"
    #: A batch is paid by one job in one transaction: no payment is executed until
    #: all are (the side-by-side kills its worker once the job has started).
    executes_in_one_transaction = True

    def __init__(
        self,
        state_dir,
        port=8279,
        db_name="g2p_bank_bench_side",
        pg=None,
        auth="api_key",
        workers=2,
        gevent_port=0,
    ):
        self.state_dir = Path(state_dir).resolve()
        self.port = port
        self.db_name = db_name
        self.pg = {**PG, **(pg or {})}
        self.auth = auth
        self.workers = workers
        self.gevent_port = gevent_port
        self.config = self.state_dir / f"odoo-{db_name}.conf"
        self.log = self.state_dir / f"odoo-{db_name}.log"
        self.api_key = None
        self.process = None
        self._registry = None
        self._statements_seen = {}
        os.environ.setdefault("G2P_STATE_DIR", str(self.state_dir))

    # ------------------------------------------------------------ wire
    @property
    def base_url(self):
        path = "/api/v1/bank" if self.auth == "api_key" else "/api/v1/bank-open"
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def headers(self):
        return {"HTTP-API-KEY": self.api_key} if self.auth == "api_key" else {}

    # ------------------------------------------------------------ life cycle
    def setup(self):
        """A fresh database with the four addons (no demo), the client user and key,
        the open endpoint; the server is not started."""
        self._shell(
            'drop_database "$1"; '
            'odoo_bin -c "$2" -d "$1" -i "$3" --without-demo=all '
            "--stop-after-init --no-http --log-level=warn",
            self.db_name,
            str(self.config),
            ADDONS,
        )
        self._registry = None
        with self._env() as odoo_env:
            self._prepare(odoo_env)

    def _shell(self, script, *args):
        """Run ``script`` with scripts/_common.sh, after writing the Odoo
        configuration of this server (its port and workers)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "G2P_STATE_DIR": str(self.state_dir),
            "PGHOST": self.pg["host"],
            "PGPORT": str(self.pg["port"]),
            "PGUSER": self.pg["user"],
            "PGPASSWORD": self.pg["password"],
        }
        subprocess.run(
            [
                "bash",
                "-c",
                (
                    f'source "{REPO}/scripts/_common.sh"; '
                    "config=$1 port=$2 workers=$3 gevent_port=$4; shift 4; "
                    # The jobs at once as scripts/run.sh: fewer than the workers.
                    'write_odoo_config "$config" "$port" "$workers" '
                    '"$(job_channels "$workers")" 1; '
                    # Odoo's websocket process: its default port may be taken by
                    # another server on this machine (it then respawns in a loop);
                    # 0 lets the system choose a free one (the bench needs none).
                    'sed -i "s/^gevent_port = .*/gevent_port = $gevent_port/" '
                    '"$config"; ' + script
                ),
                "bash",
                str(self.config),
                str(self.port),
                str(self.workers),
                str(self.gevent_port),
                *args,
            ],
            check=True,
            env=env,
        )

    def _prepare(self, env):
        from odoo import Command

        env.ref("base.KES").active = True
        params = env["ir.config_parameter"]
        params.set_param("g2p_bank_simulator.failure_rate", "0")
        user = env["res.users"].create(
            {
                "name": "Bench bank client",
                "login": "bench_bank_client",
                "groups_id": [
                    Command.set([env.ref("g2p_bank_rest_api.group_bank_api").id])
                ],
            }
        )
        self.api_key = f"bench-{uuid.uuid4()}"
        env["auth.api.key"].create(
            {"name": "bench", "key": self.api_key, "user_id": user.id}
        )
        shipped = env.ref("g2p_bank_rest_api.fastapi_endpoint_bank")
        # The shipped endpoint's settings (technical user, no HTTP session).
        open_endpoint = shipped.copy(
            {
                "name": "G2P Bank API without credentials (bench)",
                "root_path": "/api/v1/bank-open",
                "g2p_auth_method": "none",
            }
        )
        open_endpoint.action_sync_registry()

    def _env(self):
        """A superuser environment on the bench database, committed at the end."""
        from _common import environment

        import odoo

        if self._registry is None:
            if not _PARSED:  # Odoo's configuration can be parsed once per process
                odoo.tools.config.parse_config(
                    ["-c", str(self.config), "--log-level=warn"]
                )
                _PARSED.append(self.config)
            self._registry = odoo.modules.registry.Registry(self.db_name)
        return environment(self._registry)

    def start(self, beat_seconds=1):
        """Serve Odoo (workers, job runner); ``beat_seconds`` is the peer's polling
        period: queue_job's runner is woken by PostgreSQL notifications instead."""
        del beat_seconds
        if self.api_key is None:
            self.api_key = self._read_api_key()
        require_free_port(self.port, "our Odoo (--port)")
        self._shell(":")  # this server's workers, also on a database set up before
        # Odoo's launcher script, as scripts/_common.sh's odoo_bin: in prefork mode
        # Odoo re-executes sys.argv[0], which `python -m odoo` cannot be.
        launcher = Path(sysconfig.get_path("scripts")) / "odoo"
        command = [sys.executable, str(launcher)]
        if not launcher.exists():
            command = [sys.executable, "-m", "odoo"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    *command,
                    "-c",
                    str(self.config),
                    "-d",
                    self.db_name,
                    # No --db-filter: with -d alone Odoo serves that database
                    # without listing PostgreSQL's databases on every request
                    # (one more connection each time).
                    "--log-level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its workers form a group we can stop
                cwd=REPO,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Odoo exited; see {self.log}")
            with contextlib.suppress(OSError):  # not listening yet
                code, _answer = request_json(
                    "GET", f"http://127.0.0.1:{self.port}/web/health", timeout=5
                )
                if code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"Odoo did not answer within 120 s; see {self.log}")

    def stop(self):
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def kill_server(self):
        """SIGKILL the whole server (master, workers, job runner), as a crash or a
        power cut would: nothing is shut down cleanly; ``start`` serves it again."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.process = None
        # The workers die with the master, but not at the same instant.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                require_free_port(self.port, "our Odoo (--port)")
                return
            time.sleep(0.1)
        require_free_port(self.port, "our Odoo (--port)")

    def _read_api_key(self):
        with self._sql() as cr:
            cr.execute(
                """SELECT k.key FROM auth_api_key k JOIN res_users u ON u.id = k.user_id
                    WHERE u.login = 'bench_bank_client'"""
            )
            row = cr.fetchone()
        return row and row[0]

    # ------------------------------------------------------------ facts
    def versions(self):
        import odoo

        with self._sql() as cr:
            cr.execute(
                """SELECT name, latest_version FROM ir_module_module
                    WHERE name IN ('g2p_bank', 'g2p_bank_simulator',
                                   'g2p_bank_rest_api', 'g2p_payment_batch',
                                   'queue_job', 'fastapi', 'auth_api_key')
                    ORDER BY name"""
            )
            modules = dict(cr.fetchall())
            cr.execute("SHOW server_version")
            postgres = cr.fetchone()[0]
        return {
            "odoo": odoo.release.version,
            **modules,
            "postgresql": postgres,
            "workers": str(self.workers),
            "auth": self.auth,
        }

    def _sql(self):
        return _Cursor(self.pg, self.db_name)

    def server_cpu_seconds(self):
        """CPU seconds used so far by the served Odoo (master, workers, job runner)
        and by the PostgreSQL backends connected to the bench database."""
        import psutil

        total = 0.0
        processes = []
        if self.process is not None:
            master = psutil.Process(self.process.pid)
            processes = [master, *master.children(recursive=True)]
        processes += [
            process
            for process in psutil.process_iter(["cmdline"])
            if f" {self.db_name} " in " ".join(process.info["cmdline"] or []) + " "
            and "postgres" in " ".join(process.info["cmdline"] or [])
        ]
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    # ------------------------------------------------------------ accounts
    def fund_account(self, account_number, currency, amount):
        """Create the account (active) with ``amount`` deposited, or top it up so that
        its available balance is ``amount``."""
        amount = Decimal(amount)
        with self._env() as env:
            env.ref(f"base.{currency}").active = True
            Account = env["g2p.sim.account"]
            account = Account.search([("account_number", "=", account_number)])
            if not account:
                account = Account.create(
                    {
                        "account_number": account_number,
                        "name": f"Bench {account_number}",
                        "currency_id": env.ref(f"base.{currency}").id,
                    }
                )
            env.flush_all()
            env.cr.execute(
                "SELECT available_balance::text FROM g2p_sim_account WHERE id = %s",
                [account.id],
            )
            have = Decimal(env.cr.fetchone()[0])
            if amount > have:
                account.deposit(amount - have, "BENCHFUND")
            elif amount < have:
                raise ValueError(f"{account_number} already holds {have} > {amount}")

    def balances(self, account_number):
        with self._sql() as cr:
            cr.execute(
                """SELECT book_balance::text, blocked_amount::text,
                          available_balance::text
                     FROM g2p_sim_account WHERE account_number = %s""",
                [account_number],
            )
            row = cr.fetchone()
        if not row:
            raise KeyError(account_number)
        return dict(
            zip(("book", "blocked", "available"), map(Decimal, row), strict=True)
        )

    # ------------------------------------------------------------ payments
    def executed(self, payment_refs):
        """How many of the payments are done, their debits, and duplicates."""
        with self._sql() as cr:
            cr.execute(
                """SELECT count(*) FILTER (WHERE status <> 'pending'),
                          count(*) FILTER (WHERE status = 'pending')
                     FROM g2p_sim_payment
                    WHERE payment_reference_number = ANY(%s)""",
                [list(payment_refs)],
            )
            executed, pending = cr.fetchone()
            cr.execute(
                """SELECT count(*), count(*) - count(DISTINCT customer_reference)
                     FROM g2p_sim_ledger_entry
                    WHERE mark = 'D' AND customer_reference = ANY(%s)""",
                [list(payment_refs)],
            )
            debits, double_debits = cr.fetchone()
        return {
            "executed": executed,
            "debits": debits,
            "double_debits": double_debits,
            "pending": pending,
        }

    def job_attempts(self, payment_refs):
        """How many times the job of the batch holding these payments ran (queue_job
        counts a retry after a serialization failure as one more)."""
        with self._sql() as cr:
            cr.execute(
                """SELECT max(j.retry)
                     FROM (SELECT DISTINCT batch_id FROM g2p_sim_payment
                            WHERE payment_reference_number = ANY(%s)) p
                     JOIN queue_job j ON j.method_name = 'process_batch'
                      AND j.func_string LIKE
                          '%%g2p.sim.payment.batch(' || p.batch_id || ',)%%'""",
                [list(payment_refs)],
            )
            return cr.fetchone()[0] or 0

    def wait_executed(self, payment_refs, timeout):
        """Seconds until every payment is executed; TimeoutError otherwise."""
        start = time.perf_counter()
        refs = list(payment_refs)
        while True:
            counts = self.executed(refs)
            if counts["executed"] >= len(set(refs)) and not counts["pending"]:
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"{counts} after {timeout} s")
            time.sleep(0.2)

    # ------------------------------------------------------------ statements
    def statement(self, account_number, timeout):
        """The MT940 of the account's entries not yet returned by this method.

        The suite writes a statement by itself after each processed batch (as the
        example bank does); entries still unreported then get one through
        ``generate_account_statement``, as a client asks for it. Waits for every
        statement of the account to be written and returns the new ones' text.
        """
        deadline = time.monotonic() + timeout
        self._wait_statements(account_number, deadline)
        with self._sql() as cr:
            cr.execute(
                """SELECT count(*) FROM g2p_sim_ledger_entry e
                     JOIN g2p_sim_account a ON a.id = e.account_id
                    WHERE a.account_number = %s AND e.statement_id IS NULL""",
                [account_number],
            )
            unreported = cr.fetchone()[0]
        if unreported:
            code, answer = request_json(
                "POST",
                f"{self.base_url}/generate_account_statement",
                {"program_account_number": account_number},
                self.headers,
            )
            if code != 200 or answer.get("status") != "success":
                raise RuntimeError(f"generate_account_statement: {code} {answer}")
            self._wait_statements(account_number, deadline)
        seen = self._statements_seen.get(account_number, 0)
        with self._sql() as cr:
            cr.execute(
                """SELECT s.id, s.attachment_id FROM g2p_sim_statement s
                     JOIN g2p_sim_account a ON a.id = s.account_id
                    WHERE a.account_number = %s AND s.id > %s AND s.state = 'done'
                    ORDER BY s.id""",
                [account_number, seen],
            )
            rows = cr.fetchall()
        if rows:
            self._statements_seen[account_number] = rows[-1][0]
        with self._env() as env:
            texts = env["ir.attachment"].browse([r[1] for r in rows]).mapped("raw")
        return "".join(raw.decode("ascii") for raw in texts)

    def _wait_statements(self, account_number, deadline):
        while True:
            with self._sql() as cr:
                cr.execute(
                    """SELECT count(*) FILTER (WHERE s.state = 'pending'),
                              count(*) FILTER (WHERE s.state = 'failed')
                         FROM g2p_sim_statement s
                         JOIN g2p_sim_account a ON a.id = s.account_id
                        WHERE a.account_number = %s""",
                    [account_number],
                )
                pending, failed = cr.fetchone()
                # A batch still being processed will enqueue one more statement.
                cr.execute(
                    """SELECT count(*) FROM g2p_sim_payment_batch b
                        WHERE b.state NOT IN ('done', 'failed')
                          AND EXISTS (SELECT 1 FROM g2p_sim_payment p
                                        JOIN g2p_sim_account a ON a.id = p.account_id
                                       WHERE p.batch_id = b.id
                                         AND a.account_number = %s)""",
                    [account_number],
                )
                batches = cr.fetchone()[0]
            if failed:
                raise RuntimeError(f"a statement of {account_number} failed")
            if not pending and not batches:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"statement of {account_number} not written")
            time.sleep(0.2)

    def seed_entries(self, account_number, n):
        """``n`` unreported ledger entries (credits of 1.00) on the account, through
        the ledger's own bulk insert, balances updated with them."""
        with self._env() as env:
            account = env["g2p.sim.account"].search(
                [("account_number", "=", account_number)]
            )
            env.cr.execute(
                "SELECT id FROM g2p_sim_account WHERE id = %s FOR NO KEY UPDATE",
                [account.id],
            )
            rows = [
                {
                    "account_id": account.id,
                    "mark": "C",
                    "amount": Decimal("1.00"),
                    "customer_reference": f"SEED{index:08d}",
                    "narrative": "Seed\nBENCH\nSEED\nBEN",
                }
                for index in range(n)
            ]
            for start in range(0, n, 10_000):
                env["g2p.sim.ledger.entry"]._append(rows[start : start + 10_000])
            env.cr.execute(
                """UPDATE g2p_sim_account
                      SET book_balance = book_balance + %(n)s,
                          available_balance = available_balance + %(n)s
                    WHERE id = %(id)s""",
                {"n": n, "id": account.id},
            )

    # ------------------------------------------------------------ failures
    def kill_worker(self):
        """SIGKILL the Odoo worker running a batch job (the whole server if none is
        known yet). Odoo's master starts a new worker by itself."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self._sql() as cr:
                cr.execute(
                    """SELECT worker_pid FROM queue_job
                        WHERE state = 'started' AND method_name = 'process_batch'
                          AND worker_pid IS NOT NULL
                        ORDER BY id DESC LIMIT 1"""
                )
                row = cr.fetchone()
            if row:
                os.kill(row[0], signal.SIGKILL)
                return row[0]
            time.sleep(0.05)
        raise TimeoutError("no batch job started within 60 s")

    def restart_worker(self):
        """Nothing to do: Odoo's master has started a new worker, and the cron
        *requeue jobs whose worker died* puts the dead job back in the queue within
        about a minute, by itself (its liveness lock is free)."""
        return 0

    def drop(self):
        self.stop()
        subprocess.run(
            ["dropdb", "--if-exists", "--force", self.db_name],
            check=False,
            env={**os.environ, "PGPASSWORD": self.pg["password"]},
        )


def server_arguments(parser, port, db, workers=2):
    """The options of a bench that serves the suite itself (``serve``)."""
    parser.add_argument("--state-dir", default=os.environ.get("G2P_STATE_DIR"))
    parser.add_argument("--workers", type=int, default=workers, help="Odoo's")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--db", default=db)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-setup", action="store_true", help="reuse the database")


def serve(args):
    """The suite set up (a fresh database unless ``--no-setup``) and served."""
    bank = OdooBank(
        args.state_dir or REPO / ".local", args.port, args.db, workers=args.workers
    )
    if not args.no_setup:
        bank.setup()
    bank.start()
    return bank


class _Cursor:
    """A short autocommit connection: reads see what the server committed."""

    def __init__(self, pg, database):
        self.connection = psycopg2.connect(
            host=pg["host"],
            port=pg["port"],
            user=pg["user"],
            password=pg["password"],
            dbname=database,
        )
        self.connection.autocommit = True

    def __enter__(self):
        return self.connection.cursor()

    def __exit__(self, *exc):
        self.connection.close()
