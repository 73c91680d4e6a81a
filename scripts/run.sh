#!/usr/bin/env bash
# Bring up the whole suite with demo data and serve it on http://127.0.0.1:$G2P_HTTP_PORT.
# Creates the database on the first run, updates the four addons on later runs.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

G2P_DB=${G2P_DB:-g2p_bank}
G2P_HTTP_PORT=${G2P_HTTP_PORT:-8069}
G2P_WORKERS=${G2P_WORKERS:-3}
CONFIG=$G2P_STATE_DIR/odoo.conf

require_odoo
# Another server on the port (an earlier run.sh still running) would serve stale code.
if (exec 3<>"/dev/tcp/127.0.0.1/$G2P_HTTP_PORT") 2>/dev/null; then
    die "port $G2P_HTTP_PORT is in use (an earlier scripts/run.sh still running?): stop it, or choose another port with G2P_HTTP_PORT"
fi

ensure_postgres
install_requirements
write_odoo_config "$CONFIG" "$G2P_HTTP_PORT" "$G2P_WORKERS" "$(job_channels "$G2P_WORKERS")" 1

if psql -X -Atq -d postgres -c "select 1 from pg_database where datname = '$G2P_DB'" | grep -q 1; then
    say "Updating the addons in database $G2P_DB"
    init=(-u "$G2P_ADDONS")
    # Addons new to the suite since the database was created are installed; -i is
    # never given for installed ones (it would re-apply their noupdate data).
    missing=$(psql -X -Atq -d "$G2P_DB" -c "select string_agg(a, ',') from unnest(string_to_array('$G2P_ADDONS', ',')) a where a not in (select name from ir_module_module where state = 'installed')")
    [ -z "$missing" ] || init+=(-i "$missing")
else
    say "Creating database $G2P_DB with the addons and demo data"
    init=(-i "$G2P_ADDONS")
fi
odoo_bin -c "$CONFIG" -d "$G2P_DB" "${init[@]}" --stop-after-init --no-http --log-level=warn

cat <<MSG

  G2P Bank suite: http://127.0.0.1:$G2P_HTTP_PORT  (database $G2P_DB)
  Log in as admin / admin (all rights), or as the demo users listed in README.md.
  Stop with Ctrl+C.

MSG
# -d alone serves that one database; with --db-filter Odoo would list the server's
# databases (a new PostgreSQL connection) on every request without a session cookie,
# i.e. on every API call.
odoo_bin -c "$CONFIG" -d "$G2P_DB"
