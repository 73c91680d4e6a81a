#!/usr/bin/env bash
# Run every test of the suite: a fresh database, the four addons installed (with demo data, so
# that what a newcomer sees is proven to load), then pytest-odoo over all their tests.
# Extra arguments go to pytest (e.g. `scripts/test.sh -k mt940 -x`).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

G2P_TEST_DB=${G2P_TEST_DB:-g2p_bank_test}
G2P_TEST_HTTP_PORT=${G2P_TEST_HTTP_PORT:-8169}
CONFIG=$G2P_STATE_DIR/odoo-test.conf

require_odoo
ensure_postgres
install_requirements
ensure_mt940_tryton_venv
ensure_bridge_connector_venv
ensure_schemathesis_venv
write_odoo_config "$CONFIG" "$G2P_TEST_HTTP_PORT" 0 root:0 0

say "Creating a fresh database $G2P_TEST_DB with $G2P_ADDONS"
drop_database "$G2P_TEST_DB"
odoo_bin -c "$CONFIG" -d "$G2P_TEST_DB" -i "$G2P_ADDONS" \
    --stop-after-init --no-http --log-level=warn

say "Running the tests"
cd "$REPO_DIR"
set +e
"$PYTHON" -m pytest -p no:cacheprovider --import-mode=importlib --rootdir="$REPO_DIR" \
    --odoo-config="$CONFIG" --odoo-database="$G2P_TEST_DB" --odoo-http \
    g2p_bank g2p_bank_simulator g2p_bank_rest_api g2p_payment_batch "$@"
status=$?
set -e
# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
[ "$status" = 5 ] && echo "ERROR: no test was collected" >&2
exit "$status"
