"""The peer of the side-by-side bench: the OpenG2P example bank 1.0.2, run locally.

What a user would pick instead of our sponsor-bank simulator (see
/work/shared/PEER.md). It is installed from PyPI into a virtual environment of its
own under the state directory, never as a dependency of the suite, and run as it
ships: one uvicorn process for the API, a Celery worker on both of its queues and a
Celery beat, with Redis as broker and result backend, on the same PostgreSQL server
as the suite. The peer has no authentication.

Plain Python: no Odoo import, so that the scenario runner can drive it from any
process. ``python bench/peer_example_bank.py --smoke`` sets it up, runs a small
payment flow against it, prints timings and balances and stops it again.
"""

import argparse
import atexit
import contextlib
import email.parser
import email.policy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg2
from load import require_free_port  # the bench's client helpers (standard library)
from psycopg2 import sql

# The published 1.0.2 trio plus what it needs to run but does not declare: api and
# celery 1.1.0 expect model fields that models 1.0.2 (the newest) lack.
PEER_REQUIREMENTS = [
    "openg2p-g2p-bridge-example-bank-api==1.0.2",
    "openg2p-g2p-bridge-example-bank-models==1.0.2",
    "openg2p-g2p-bridge-example-bank-celery==1.0.2",
    # SQLAlchemy 2.1 resolves by default; the async stack of fastapi-common needs 2.0.
    "sqlalchemy[asyncio]>=2.0,<2.1",
    # The Celery package declares plain "celery": its Redis broker needs the extra.
    "celery[redis]",
    "packaging",
    # Neither package declares a database driver: the API's default driver is
    # postgresql+asyncpg, the Celery tasks use a synchronous engine (psycopg2).
    "asyncpg",
    "psycopg2-binary",
]
PEER_PACKAGES = [
    "openg2p-g2p-bridge-example-bank-api",
    "openg2p-g2p-bridge-example-bank-models",
    "openg2p-g2p-bridge-example-bank-celery",
    "openg2p-fastapi-common",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "asyncpg",
    "psycopg2-binary",
    "celery",
    "kombu",
    "redis",
    "pydantic",
]
PEER_VERSION = "1.0.2"
CELERY_APP = "openg2p_g2p_bridge_example_bank_celery.app:celery_app"
# The queues of the peer's tasks: statements go to Celery's default queue, payment
# batches to the one process_payments_beat_producer names.
CELERY_QUEUES = "celery,g2p_bridge_celery_worker_tasks"

# The PyPI packages have no entry point: the peer's images run a main.py of their
# repository. This one does what fastapi-common expects of it: the initializer and
# the ping endpoint, then "run" (one uvicorn process) or "migrate".
MAIN_PY = """\
from openg2p_g2p_bridge_example_bank_api.app import Initializer
from openg2p_fastapi_common.ping import PingInitializer

main_init = Initializer()
PingInitializer()
app = main_init.return_app()

if __name__ == "__main__":
    main_init.main()
"""
# The peer's "migrate" creates accounts, fund blocks and payment requests only; the
# other tables (batches, ledger, statements) come from the same SQLAlchemy metadata.
CREATE_TABLES_PY = """\
import os
import openg2p_g2p_bridge_example_bank_models.models  # noqa: F401 (registers tables)
from openg2p_fastapi_common.models import BaseORMModel
from sqlalchemy import create_engine

engine = create_engine(os.environ["EXAMPLE_BANK_CELERY_DB_DATASOURCE"])
BaseORMModel.metadata.create_all(engine)
print(" ".join(sorted(BaseORMModel.metadata.tables)))
"""
PEER_TABLES = {
    "accounts",
    "fund_blocks",
    "initiate_payment_batch_requests",
    "initiate_payment_requests",
    "accounting_logs",
    "account_statements",
}


def _out(text=""):
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def _redis_command(port, *words, timeout=2.0):
    """One command to the Redis on 127.0.0.1:port, in RESP; returns the raw reply
    (no client library needed in this process)."""
    payload = f"*{len(words)}\r\n" + "".join(
        f"${len(word.encode())}\r\n{word}\r\n" for word in words
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(payload.encode())
        return conn.recv(4096)


def _redis_answers(port):
    try:
        return _redis_command(port, "PING").startswith(b"+PONG")
    except OSError:
        return False


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_on_sigterm(signum, _frame):
    raise SystemExit(128 + signum)


def _terminate_group(proc, grace=10.0):
    """SIGTERM the process group of ``proc`` (started in a session of its own), wait,
    then SIGKILL whatever is left of the group: no orphaned Celery children."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class _StatementReceiver:
    """The MT940 upload endpoint the peer pushes statements to (HTTP POST, multipart,
    field ``statement_file``), as the bridge's /upload_mt940 would. Statements are
    kept by their :20: reference, which is the peer's account statement id."""

    def __init__(self, port):
        self.port = port
        self.statements = {}
        self.received = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                text = receiver.statement_file(self.headers.get("Content-Type"), body)
                if text is None:
                    self.send_response(422)
                    self.end_headers()
                    return
                match = re.match(r":20:(\S+)", text)
                with receiver.received:
                    receiver.statements[match.group(1) if match else ""] = text
                    receiver.received.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "success"}')

            def log_message(self, *args):
                pass  # the peer pushes often; the bench output stays figures only

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def statement_file(content_type, body):
        if not content_type or "multipart/form-data" not in content_type:
            return None
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "statement_file":
                return part.get_payload(decode=True).decode()
        return None

    def get(self, statement_id):
        with self.received:
            return self.statements.get(str(statement_id))

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class ExampleBankPeer:
    """The OpenG2P example bank, installed, started and inspected for the bench."""

    name = f"OpenG2P example bank {PEER_VERSION}"

    def __init__(
        self,
        state_dir,
        port=8300,
        db_name="g2p_peer_example_bank",
        pg=None,
        *,
        redis_port=6391,
        callback_port=None,
    ):
        self.state_dir = Path(state_dir).resolve()
        self.port = port
        self.db_name = db_name
        self.pg = {
            "host": "127.0.0.1",
            "port": 5432,
            "user": "odoo",
            "password": "odoo",
        }
        self.pg.update(pg or {})
        self.redis_port = redis_port
        self.callback_port = callback_port or port + 1
        self.venv = self.state_dir / "venv-peer"
        self.python = self.venv / "bin" / "python"
        self.run_dir = self.state_dir / "peer-run"
        self.base_url = f"http://127.0.0.1:{port}"
        self.headers = {}
        self._procs = {}
        self._receiver = None
        self._redis_started = False
        self._versions = None
        self._stop_registered = False
        self._returned_statement = {}
        self._env_current = None
        self._log_start = {}

    # -- installation -------------------------------------------------------------

    def setup(self):
        """The virtual environment, Redis, and a fresh database with every table of
        the peer. Idempotent: the environment and Redis are reused when they are
        right, the database is always recreated."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._kill_leftovers()
        self._ensure_venv()
        self._ensure_redis()
        # Messages of an earlier database would be run against the new one.
        _redis_command(self.redis_port, "FLUSHALL")
        (self.run_dir / "main.py").write_text(MAIN_PY)
        (self.run_dir / "create_tables.py").write_text(CREATE_TABLES_PY)
        self._recreate_database()
        env = self._env()
        self._run_in_venv(["main.py", "migrate"], env, "the peer's database migration")
        tables = self._run_in_venv(
            ["create_tables.py"], env, "the creation of the peer's other tables"
        ).split()
        missing = PEER_TABLES - set(tables)
        if missing:
            raise RuntimeError(f"the peer's metadata lacks tables: {sorted(missing)}")

    def _ensure_venv(self):
        check = (
            "import importlib.metadata as m, sys\n"
            f"trio = {PEER_PACKAGES[:3]!r}\n"
            f"sys.exit(any(m.version(p) != {PEER_VERSION!r} for p in trio))\n"
            "import asyncpg, psycopg2, redis, sqlalchemy.ext.asyncio\n"
            "import openg2p_g2p_bridge_example_bank_api\n"
            "import openg2p_g2p_bridge_example_bank_celery\n"
        )
        if self.python.exists():
            ready = subprocess.run(
                [str(self.python), "-c", check],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            shutil.rmtree(self.venv)
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        subprocess.run(
            [str(self.python), "-m", "pip", "install", "-q"]
            + ["--disable-pip-version-check"]
            + PEER_REQUIREMENTS,
            check=True,
            env={**os.environ, "PIP_ROOT_USER_ACTION": "ignore"},
        )

    def _ensure_redis(self):
        pidfile = self.run_dir / "redis.pid"
        if _redis_answers(self.redis_port):
            pid = int(pidfile.read_text() or 0) if pidfile.exists() else 0
            if not (pid and _pid_alive(pid)):
                raise RuntimeError(
                    f"a Redis this bench did not start answers on port "
                    f"{self.redis_port}: pass another redis_port"
                )
            self._redis_started = True
            return
        if not shutil.which("redis-server"):
            if os.geteuid() != 0:
                raise RuntimeError(
                    "redis-server is not installed; install it (Debian: apt-get "
                    "install redis-server) or run as root"
                )
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "redis-server"],
                check=True,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                stdout=subprocess.DEVNULL,
            )
        # A daemon of its own on loopback, without persistence: the bench's queues
        # live as long as the run.
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
                "--pidfile",
                str(pidfile),
                "--dir",
                str(self.run_dir),
                "--logfile",
                str(self.run_dir / "redis.log"),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            check=True,
        )
        self._redis_started = True
        self._wait_for(lambda: _redis_answers(self.redis_port), 20, "Redis")

    def _recreate_database(self):
        name = sql.Identifier(self.db_name)
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name)
        self._query(drop, db_name="postgres")
        self._query(sql.SQL("CREATE DATABASE {}").format(name), db_name="postgres")

    def _run_in_venv(self, args, env, what):
        result = subprocess.run(
            [str(self.python)] + args,
            cwd=self.run_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"{what} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def versions(self):
        """The versions actually installed in the peer's environment."""
        if self._versions is None:
            code = (
                "import importlib.metadata as m, json; print(json.dumps("
                f"{{p: m.version(p) for p in {PEER_PACKAGES!r}}}))"
            )
            output = subprocess.run(
                [str(self.python), "-c", code],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            self._versions = json.loads(output)
            redis = subprocess.run(
                ["redis-server", "--version"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            match = re.search(r"v=(\S+)", redis)
            self._versions["redis-server"] = match.group(1) if match else "unknown"
            self._versions["postgresql"] = self._query("SHOW server_version")[0][0]
        return dict(self._versions)

    # -- processes ----------------------------------------------------------------

    def _env(self, beat_seconds=1):
        pg = self.pg
        server = (
            f"{quote(pg['user'], safe='')}:{quote(str(pg['password']), safe='')}"
            f"@{pg['host']}:{pg['port']}/{self.db_name}"
        )
        redis = f"redis://127.0.0.1:{self.redis_port}/0"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("EXAMPLE_BANK_", "COMMON_", "VIRTUAL_ENV", "PYTHON"))
        }
        env.update(
            {
                "PATH": f"{self.venv / 'bin'}:{env.get('PATH', '')}",
                "EXAMPLE_BANK_DB_DATASOURCE": f"postgresql+asyncpg://{server}",
                "EXAMPLE_BANK_APP_HOST": "127.0.0.1",
                "EXAMPLE_BANK_APP_PORT": str(self.port),
                "EXAMPLE_BANK_CELERY_BROKER_URL": redis,
                "EXAMPLE_BANK_CELERY_BACKEND_URL": redis,
                "EXAMPLE_BANK_CELERY_DB_DATASOURCE": f"postgresql://{server}",
                "EXAMPLE_BANK_CELERY_CELERY_BROKER_URL": redis,
                "EXAMPLE_BANK_CELERY_CELERY_BACKEND_URL": redis,
                "EXAMPLE_BANK_CELERY_PROCESS_PAYMENT_FREQUENCY": str(beat_seconds),
                "EXAMPLE_BANK_CELERY_MT940_STATEMENT_CALLBACK_URL": (
                    f"http://127.0.0.1:{self.callback_port}/upload_mt940"
                ),
            }
        )
        return env

    def start(self, beat_seconds=1):
        """The API, the worker and the beat; returns once the API answers and the
        worker is ready. ``beat_seconds`` is the peer's payment-processing period
        (an integer setting of the peer, default 3600 s)."""
        if int(beat_seconds) != beat_seconds or beat_seconds < 1:
            raise ValueError(
                "the peer's beat period (PROCESS_PAYMENT_FREQUENCY) is a whole number "
                f"of seconds, at least 1: got {beat_seconds}"
            )
        if not self._stop_registered:
            atexit.register(self.stop)
            # SIGTERM ends Python without atexit: made an exit, it stops the peer too
            # (unless the program has a handler of its own).
            if (
                threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
            ):
                signal.signal(signal.SIGTERM, _exit_on_sigterm)
            self._stop_registered = True
        try:
            self._ensure_redis()
            self._kill_leftovers()
            require_free_port(self.port, "the peer")
            self._env_current = self._env(int(beat_seconds))
            for name in ("api", "worker", "beat"):
                (self.run_dir / f"{name}.log").unlink(missing_ok=True)
            self._receiver = _StatementReceiver(self.callback_port)
            self._spawn("api", [str(self.python), "main.py", "run"])
            self._start_worker()
            schedule = self.run_dir / "celerybeat-schedule"
            for stale in self.run_dir.glob("celerybeat-schedule*"):
                stale.unlink()
            self._spawn(
                "beat",
                [str(self.venv / "bin" / "celery"), "-A", CELERY_APP, "beat"]
                + ["--loglevel=info", "-s", str(schedule)],
            )
            self._wait_for(self._api_answers, 60, "the peer's API", "api")
            self._wait_for(lambda: self._logged("beat", "beat: Starting"), 30, "beat")
        except BaseException:
            self.stop()
            raise

    def _start_worker(self):
        self._spawn(
            "worker",
            [str(self.venv / "bin" / "celery"), "-A", CELERY_APP, "worker"]
            + ["--loglevel=info", "-Q", CELERY_QUEUES, "-n", f"peer{self.port}@%h"],
        )
        self._wait_for(
            lambda: self._logged("worker", " ready."), 60, "the Celery worker", "worker"
        )

    def _spawn(self, name, args):
        log_path = self.run_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            self._log_start[name] = log.tell()
            # A session of its own: the whole group (Celery's pool children
            # included) is signalled at once, and a Ctrl-C meant for the bench does
            # not reach it before stop() does.
            self._procs[name] = subprocess.Popen(
                args,
                cwd=self.run_dir,
                env=self._env_current,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._write_pids()

    def _logged(self, name, text):
        with open(self.run_dir / f"{name}.log", "rb") as log:
            log.seek(self._log_start[name])
            return text.encode() in log.read()

    def _api_answers(self):
        try:
            return httpx.get(f"{self.base_url}/ping", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait_for(self, ready, timeout, what, process=None):
        deadline = time.monotonic() + timeout
        while not ready():
            proc = self._procs.get(process)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{what} exited:\n{self._log_tail(process)}")
            if time.monotonic() > deadline:
                tail = self._log_tail(process) if process else ""
                raise TimeoutError(f"{what} not ready after {timeout} s\n{tail}")
            time.sleep(0.2)

    def _log_tail(self, name, lines=30):
        path = self.run_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _write_pids(self):
        pids = {name: proc.pid for name, proc in self._procs.items()}
        (self.run_dir / "pids.json").write_text(json.dumps(pids))

    def _kill_leftovers(self):
        """Process groups a previous, killed bench left behind (recorded by pid, and
        only when they still run this environment's programs)."""
        path = self.run_dir / "pids.json"
        if not path.exists():
            return
        for pid in json.loads(path.read_text()).values():
            if any(proc.pid == pid for proc in self._procs.values()):
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if str(self.venv).encode() in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        path.unlink()

    def stop(self):
        """Everything start() and setup() started: the API, worker, beat, the
        statement receiver and the Redis daemon."""
        for name in ("beat", "api", "worker"):
            proc = self._procs.pop(name, None)
            if proc is not None:
                _terminate_group(proc)
        if self.run_dir.exists():
            self._write_pids()
        if self._receiver is not None:
            self._receiver.close()
            self._receiver = None
        if self._redis_started and _redis_answers(self.redis_port):
            # Redis closes the connection as it exits, without a reply.
            with contextlib.suppress(OSError):
                _redis_command(self.redis_port, "SHUTDOWN", "NOSAVE")
            self._wait_for(lambda: not _redis_answers(self.redis_port), 10, "Redis")
        self._redis_started = False

    def kill_worker(self):
        """SIGKILL the Celery worker and its pool children, as a crash would."""
        proc = self._procs.pop("worker")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        self._write_pids()

    def restart_worker(self):
        self._start_worker()

    # -- the bank's books ----------------------------------------------------------

    def _connect(self, db_name=None):
        conn = psycopg2.connect(
            host=self.pg["host"],
            port=self.pg["port"],
            user=self.pg["user"],
            password=self.pg["password"],
            dbname=db_name or self.db_name,
        )
        conn.autocommit = True
        return conn

    def _query(self, query, params=(), db_name=None):
        conn = self._connect(db_name)
        try:
            with conn.cursor() as cr:
                cr.execute(query, params)
                return cr.fetchall() if cr.description else []
        finally:
            conn.close()

    def fund_account(self, account_number, currency, amount):
        """The account with ``amount`` as book and available balance, nothing blocked
        (created, or reset when it exists). The peer stores balances as floats."""
        amount = Decimal(amount)
        updated = self._query(
            "UPDATE accounts SET account_currency = %s, book_balance = %s, "
            "available_balance = %s, blocked_amount = 0, updated_at = now() "
            "WHERE account_number = %s RETURNING id",
            (currency, amount, amount, account_number),
        )
        if not updated:
            self._query(
                "INSERT INTO accounts (account_holder_name, account_number, "
                "account_currency, account_holder_phone, account_holder_email, "
                "book_balance, available_balance, blocked_amount, active, "
                "created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, 0, true, now(), now())",
                (
                    f"Program {account_number}",
                    account_number,
                    currency,
                    # Required and unique in the peer's table.
                    f"program-{account_number}",
                    f"{account_number}@program.example",
                    amount,
                    amount,
                ),
            )

    def balances(self, account_number):
        """Book, blocked and available balance as the peer holds them (its float
        columns, converted exactly as stored: no rounding hides drift)."""
        rows = self._query(
            "SELECT book_balance, blocked_amount, available_balance FROM accounts "
            "WHERE account_number = %s ORDER BY id LIMIT 1",
            (account_number,),
        )
        if not rows:
            raise LookupError(f"the peer has no account {account_number}")
        book, blocked, available = (Decimal(repr(value)) for value in rows[0])
        return {"book": book, "blocked": blocked, "available": available}

    def executed(self, payment_refs):
        """How the peer's ledger stands for these payment references: ``executed``
        references with at least one debit, ``debits`` debit entries for them,
        ``double_debits`` references debited more than once, ``pending`` references
        not debited yet, ``reversed`` references whose debit was reversed (the peer
        fails 30% of the payments to other banks at random)."""
        refs = sorted(set(payment_refs))
        if not refs:
            return dict.fromkeys(
                ("executed", "debits", "double_debits", "pending", "reversed"), 0
            )
        rows = self._query(
            "SELECT customer_reference_no, "
            "count(*) FILTER (WHERE transaction_amount > 0), "
            "count(*) FILTER (WHERE transaction_amount < 0) "
            "FROM accounting_logs WHERE debit_credit = 'DEBIT' "
            "AND customer_reference_no = ANY(%s) GROUP BY customer_reference_no",
            (refs,),
        )
        executed = sum(1 for _ref, debits, _rev in rows if debits)
        return {
            "executed": executed,
            "debits": sum(debits for _ref, debits, _rev in rows),
            "double_debits": sum(1 for _ref, debits, _rev in rows if debits > 1),
            "pending": len(refs) - executed,
            "reversed": sum(1 for _ref, _debits, rev in rows if rev),
        }

    def wait_executed(self, payment_refs, timeout):
        """Seconds until every reference has been debited; TimeoutError otherwise.

        The peer's beat sends a pending batch to the worker again at every tick
        until a pass commits, and the worker does not check whether the batch was
        already processed: passes still running then commit later, so count
        double debits a while after this returns, not at once."""
        start = time.monotonic()
        while True:
            state = self.executed(payment_refs)
            if not state["pending"]:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"the peer has not executed every payment: {state}")
            time.sleep(0.25)

    def statement(self, account_number, timeout):
        """Ask for a statement as a client does and return the MT940 text the peer
        pushes to the receiver.

        The peer also writes and pushes a statement by itself after each payment
        batch, which marks the entries as reported: a statement asked for afterwards
        finds nothing new and is never pushed. The entries' statement is then the
        newest one the peer pushed for the account (not returned before)."""
        response = httpx.post(
            f"{self.base_url}/generate_account_statement",
            json={"program_account_number": account_number},
            timeout=timeout,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("status") != "success":
            raise RuntimeError(f"the peer refused the statement: {body}")
        requested = int(body["account_statement_id"])
        deadline = time.monotonic() + timeout
        while True:
            statement_id = requested
            text = self._receiver.get(requested)
            if text is None:
                statement_id = self._statement_already_pushed(account_number, requested)
                text = statement_id and self._receiver.get(statement_id)
            if text:
                self._returned_statement[account_number] = statement_id
                return text
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no MT940 statement for {account_number} after {timeout} s"
                )
            time.sleep(0.1)

    def _statement_already_pushed(self, account_number, statement_id):
        """The newest written statement of the account when the one asked for will
        stay empty: it is unwritten, no entry of the account is unreported and no
        payment batch of the account is pending."""
        rows = self._query(
            "SELECT "
            "(SELECT account_statement_lob IS NULL FROM account_statements "
            " WHERE id = %(id)s), "
            "EXISTS (SELECT 1 FROM accounting_logs WHERE account_number = %(acc)s "
            " AND NOT reported_in_mt940), "
            "EXISTS (SELECT 1 FROM initiate_payment_batch_requests b "
            " JOIN initiate_payment_requests r ON r.batch_id = b.batch_id "
            " WHERE b.payment_status = 'PENDING' AND r.remitting_account = %(acc)s), "
            "(SELECT max(id) FROM account_statements WHERE account_number = %(acc)s "
            " AND account_statement_lob IS NOT NULL AND id > %(after)s)",
            {
                "id": statement_id,
                "acc": account_number,
                "after": self._returned_statement.get(account_number, 0),
            },
        )
        unwritten, unreported, pending, newest = rows[0]
        if unwritten and not unreported and not pending:
            return newest
        return None

    def seed_entries(self, account_number, n):
        """``n`` unreported debit entries on the account, ready for one statement."""
        tag = uuid.uuid4().hex[:8].upper()
        self._query(
            "INSERT INTO accounting_logs (reference_no, "
            "corresponding_block_reference_no, customer_reference_no, debit_credit, "
            "account_number, transaction_amount, transaction_date, "
            "transaction_currency, transaction_code, narrative_1, narrative_2, "
            "narrative_3, narrative_4, narrative_5, narrative_6, reported_in_mt940, "
            "active, created_at, updated_at) "
            "SELECT gen_random_uuid()::text, 'SEED', %(tag)s || '-' || i, 'DEBIT', "
            "%(acc)s, 10.5, now() at time zone 'utc', a.account_currency, 'DBT', "
            "'Cash transfer', 'PROG', 'CYCLE1', 'BEN' || i, '', '', false, true, "
            "now(), now() "
            "FROM generate_series(1, %(n)s) AS i, "
            "(SELECT account_currency FROM accounts WHERE account_number = %(acc)s "
            " ORDER BY id LIMIT 1) AS a",
            {"tag": tag, "acc": account_number, "n": n},
        )


def payment_requests(count, prefix, account, currency, block, amount="10.00"):
    """``count`` initiate_payment requests as the bridge sends them. Even ones pay a
    customer of the example bank (bank code EXAMPLE_BANK), odd ones another bank,
    which the peer fails (reverses) 30% of the time. ``prefix`` makes references,
    beneficiary accounts, phones and emails unique: use a new one per batch."""
    return [
        {
            "payment_reference_number": f"{prefix}{i:08d}",
            "remitting_account": account,
            "remitting_account_currency": currency,
            "payment_amount": float(amount),
            "funds_blocked_reference_number": block,
            "beneficiary_name": f"Beneficiary {i}",
            "beneficiary_account": f"{prefix}B{i:08d}",
            "beneficiary_account_currency": currency,
            "beneficiary_account_type": "BANK_ACCOUNT",
            "beneficiary_bank_code": "EXAMPLE_BANK" if i % 2 == 0 else "OTHERBANK",
            "beneficiary_branch_code": "001",
            # The peer opens an account for a new customer beneficiary, with the
            # phone and email as required, unique columns: the batch fails without.
            "beneficiary_phone_no": f"+{prefix}{i:08d}",
            "beneficiary_email": f"{prefix.lower()}.{i}@beneficiary.example",
            "narrative_1": "Cash transfer",
            "narrative_2": "PROG",
            "narrative_3": "CYCLE1",
            "narrative_4": f"BEN{i}",
            "narrative_5": "",
            "narrative_6": "",
            "payment_date": time.strftime("%Y-%m-%d"),
            "active": True,
        }
        for i in range(count)
    ]


def _smoke(state_dir, port, payments):
    peer = ExampleBankPeer(state_dir, port=port)
    figures = {}

    def timed(label, function, *args):
        start = time.perf_counter()
        result = function(*args)
        figures[label] = time.perf_counter() - start
        return result

    def post(path, body):
        response = httpx.post(f"{peer.base_url}/{path}", json=body, timeout=120)
        response.raise_for_status()
        return response.json()

    account, currency = f"PEER{uuid.uuid4().hex[:6].upper()}", "KES"
    amount = Decimal("10.00")
    try:
        timed("setup", peer.setup)
        timed("start (ready)", peer.start, 1)
        peer.fund_account(account, currency, Decimal(1000000))
        total = amount * payments
        checked = timed(
            "check_funds",
            post,
            "check_funds",
            {
                "account_number": account,
                "account_currency": currency,
                "total_funds_needed": float(total),
            },
        )
        assert checked["status"] == "success", checked
        blocked = timed(
            "block_funds",
            post,
            "block_funds",
            {"account_number": account, "currency": currency, "amount": float(total)},
        )
        assert blocked["status"] == "success", blocked
        requests = payment_requests(
            payments, account, account, currency, blocked["block_reference_no"]
        )
        refs = [request["payment_reference_number"] for request in requests]
        initiated = timed(
            f"initiate_payment ({payments})", post, "initiate_payment", requests
        )
        assert initiated["status"] == "success", initiated
        timed("until all executed", peer.wait_executed, refs, 120)
        mt940 = timed("statement (after the batch)", peer.statement, account, 60)
        state = peer.executed(refs)
        missing = [ref for ref in refs if ref not in mt940]
        assert not missing, f"references missing from the MT940: {missing[:5]}"
        balances = peer.balances(account)
        paid = amount * (payments - state["reversed"])
        expected = {
            "book": Decimal(1000000) - paid,
            "blocked": total - paid,
        }
        for key, value in expected.items():
            assert abs(balances[key] - value) < Decimal("0.005"), (key, balances)
        peer.seed_entries(account, 50)
        seeded = timed("statement (50 seeded entries)", peer.statement, account, 60)
        assert seeded.count(":61:") == 50, seeded.count(":61:")
        peer.kill_worker()
        timed("worker restart (ready)", peer.restart_worker)
    finally:
        timed("stop", peer.stop)

    _out(f"{peer.name}: {json.dumps(peer.versions())}")
    for label, seconds in figures.items():
        _out(f"  {label:<32} {seconds:8.3f} s")
    _out(f"  ledger    {state}")
    _out("  balances  " + ", ".join(f"{k} {v}" for k, v in balances.items()))
    _out(f"  MT940     {mt940.count(':61:')} entries, {len(mt940)} characters")
    _out("smoke passed")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="run the smoke check")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(
            os.environ.get(
                "G2P_STATE_DIR", Path(__file__).resolve().parent.parent / ".local"
            )
        ),
    )
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--payments", type=int, default=100)
    args = parser.parse_args()
    if not args.smoke:
        parser.error("nothing to do: pass --smoke")
    _smoke(args.state_dir, args.port, args.payments)


if __name__ == "__main__":
    main()
