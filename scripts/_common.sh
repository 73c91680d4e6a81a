# Shared by scripts/run.sh and scripts/test.sh: configuration, prerequisites, PostgreSQL, Odoo config.
# Every setting is an environment variable with a default; see README.md.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
G2P_STATE_DIR=${G2P_STATE_DIR:-$REPO_DIR/.local}
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-odoo}
PGPASSWORD=${PGPASSWORD:-odoo}
export PGHOST PGPORT PGUSER PGPASSWORD
export PIP_ROOT_USER_ACTION=ignore
G2P_ADDONS=g2p_bank,g2p_bank_simulator,g2p_bank_rest_api,g2p_payment_batch

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

require_odoo() {
    if ! "$PYTHON" - <<'PY' 2>/dev/null; then
import sys, odoo.release
sys.exit(0 if odoo.release.version_info[0] == 18 else 1)
PY
        die "Odoo 18.0 is not importable by '$PYTHON' ($(command -v "$PYTHON" || echo 'not found')).
The G2P Bank suite is a set of Odoo 18.0 addons: install Odoo 18.0 community into this Python
first (see README.md, Prerequisites), or point PYTHON at a Python that has it."
    fi
}

# Run Odoo through its launcher script: in multi-worker mode Odoo re-executes sys.argv[0] to
# start its gevent (websocket) process, which fails under `python -m odoo`.
odoo_bin() {
    local scripts root
    scripts=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
    root=$("$PYTHON" -c 'import os, odoo; print(os.path.dirname(os.path.dirname(odoo.__file__)))')
    if [ -f "$scripts/odoo" ]; then
        "$PYTHON" "$scripts/odoo" "$@"
    elif [ -f "$root/odoo-bin" ]; then
        "$PYTHON" "$root/odoo-bin" "$@"
    else
        "$PYTHON" -m odoo "$@"
    fi
}

# The directory of Odoo's own addons (web, mail, contacts, ...), next to the odoo package.
odoo_addons_dir() {
    "$PYTHON" -c 'import os, odoo; print(os.path.join(os.path.dirname(os.path.dirname(odoo.__file__)), "addons"))'
}

pg_can_login() {
    psql -X -q -d postgres -c 'select 1' >/dev/null 2>&1
}

# Start PostgreSQL on loopback (installing Debian's package when it is missing) and make sure
# the role PGUSER can log in with PGPASSWORD and create databases.
ensure_postgres() {
    if pg_can_login; then return; fi
    case "$PGHOST" in
        127.*|localhost|::1) ;;
        *) die "cannot log in to PostgreSQL at $PGHOST:$PGPORT as $PGUSER (and it is not local, so it is not started here)";;
    esac
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed; install it (Debian: apt-get install postgresql) or run as root"
        say "Installing PostgreSQL (Debian package)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    local version cluster
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    cluster=$(pg_lsclusters -h 2>/dev/null | awk -v v="$version" -v p="$PGPORT" '$1==v && $3==p {print $2; exit}')
    if [ -z "$cluster" ]; then
        say "Creating PostgreSQL $version cluster 'g2p' on port $PGPORT"
        pg_createcluster "$version" g2p --port "$PGPORT" >/dev/null
        cluster=g2p
    fi
    if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $4}' | grep -q online; then
        say "Starting PostgreSQL $version/$cluster on 127.0.0.1:$PGPORT"
        pg_ctlcluster "$version" "$cluster" start
    fi
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p "$PGPORT" && break; sleep 1; done
    if ! pg_can_login; then
        say "Creating PostgreSQL role $PGUSER"
        env -u PGHOST -u PGUSER -u PGPASSWORD -u PGDATABASE runuser -u postgres -- psql -X -q -p "$PGPORT" -v ON_ERROR_STOP=1 \
            -v role="$PGUSER" -v pw="$PGPASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', :'pw')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', :'pw') \gexec
SQL
        pg_can_login || die "PostgreSQL is running but $PGUSER cannot log in at $PGHOST:$PGPORT"
    fi
}

install_requirements() {
    say "Installing Python requirements"
    "$PYTHON" -m pip install -q --disable-pip-version-check -r "$REPO_DIR/requirements.txt"
}

# _ensure_venv NAME WHAT CHECK PACKAGE...: the virtual environment
# $G2P_STATE_DIR/venv-NAME, built anew with PACKAGE... (WHAT says what for) unless the
# shell command CHECK, which names it as "$venv", succeeds. For the client tools the
# tests drive, which must not share Odoo's packages. Idempotent.
_ensure_venv() {
    local venv=$G2P_STATE_DIR/venv-$1 what=$2 check=$3
    shift 3
    if ! eval "$check" >/dev/null 2>&1; then
        say "Creating $venv ($what)"
        rm -rf "$venv"
        "$PYTHON" -m venv "$venv"
        "$venv/bin/python" -m pip install -qq --disable-pip-version-check "$@"
    fi
}

# Tryton's MT940 parser (PyPI "mt940") has the import name of the "mt-940" parser the suite
# uses, so the statement tests drive it from a virtual environment of its own.
ensure_mt940_tryton_venv() {
    _ensure_venv mt940-tryton "Tryton's mt940 parser, for the statement tests" \
        '"$venv/bin/python" -c "import mt940; mt940.MT940"' 'mt940>=0.8,<1'
    export G2P_MT940_TRYTON_PYTHON=$G2P_STATE_DIR/venv-mt940-tryton/bin/python
}

# The OpenG2P G2P Bridge's bank connector, unmodified, for the contract tests of the bank
# app (it brings FastAPI, SQLAlchemy and pydantic versions of its own), with the MT940
# parser the bridge reads statements with. The connector imports
# openg2p-g2p-bridge-models without declaring it. Versions as tested.
ensure_bridge_connector_venv() {
    _ensure_venv bridge-connector "the OpenG2P bridge's bank connector, for the contract tests" \
        '"$venv/bin/python" -c "import mt940, openg2p_g2p_bridge_bank_connectors.bank_connectors"' \
        'openg2p-g2p-bridge-bank-connectors==1.1.0' 'openg2p-g2p-bridge-models==1.1.0' \
        'openg2p-fastapi-common==1.1.6' greenlet 'mt-940==5.1.1'
    export G2P_BRIDGE_CONNECTOR_PYTHON=$G2P_STATE_DIR/venv-bridge-connector/bin/python
}

# schemathesis, for the contract tests of the apps' OpenAPI documents (it would add a
# dozen packages next to Odoo's).
ensure_schemathesis_venv() {
    _ensure_venv schemathesis "schemathesis, for the contract tests" \
        '"$venv/bin/schemathesis" --version' 'schemathesis==4.32.5'
    export G2P_SCHEMATHESIS=$G2P_STATE_DIR/venv-schemathesis/bin/schemathesis
}

# write_odoo_config FILE HTTP_PORT WORKERS JOB_CHANNELS CRON_THREADS: the Odoo
# configuration of both commands. Tests run neither queue_job's runner (channels
# "root:0": it starts in any Odoo HTTP server otherwise, pytest-odoo's included) nor
# crons: nothing may run the jobs, or touch the rows, that a test commits.
write_odoo_config() {
    local file=$1 port=$2 workers=$3 channels=$4 cron_threads=$5
    mkdir -p "$(dirname "$file")" "$G2P_STATE_DIR/filestore"
    cat >"$file" <<CONF
[options]
addons_path = $(odoo_addons_dir),$REPO_DIR
data_dir = $G2P_STATE_DIR/filestore
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
db_password = $PGPASSWORD
http_interface = 127.0.0.1
http_port = $port
# The websocket (gevent) port next to it, so that servers on other ports never clash.
gevent_port = $((port + 3))
workers = $workers
server_wide_modules = base,web,queue_job
max_cron_threads = $cron_threads
# Batches of 100,000 payments are processed by one job: give it time.
limit_time_cpu = 900
limit_time_real = 1800
limit_memory_soft = 4294967296
limit_memory_hard = 6442450944

[queue_job]
channels = $channels
CONF
}

# job_channels WORKERS: the job channels of a served suite with WORKERS HTTP workers
# (0: threaded). The bank's batches and statements one at a time each, the program's
# batch steps one at a time, and at most two jobs at once, always fewer than the
# workers: queue_job runs each job in an HTTP request to a worker, so jobs holding every
# worker leave none for the officers' screens, and a job calling this server over HTTP
# (a connector to this suite's own bank app, the bank pushing a statement to this
# suite's upload URL) would wait for itself until its timeout.
job_channels() {
    local workers=$1 root=2
    if ((workers == 1)); then
        root=1
        say "1 HTTP worker: a job that calls this server over HTTP waits for its own timeout (G2P_WORKERS=3 avoids it)" >&2
    elif ((workers == 2)); then
        root=1
        say "2 HTTP workers: one job at a time (G2P_WORKERS=3 runs two)" >&2
    fi
    echo "root:$root,root.g2p_bank_simulator:1,root.g2p_bank_simulator.statement:1,root.g2p_payment_batch:1"
}

drop_database() {
    PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists --force "$1"
}
