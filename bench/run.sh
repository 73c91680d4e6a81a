#!/usr/bin/env bash
# Run the suite's benchmarks on a fresh database (no demo data) and print their figures.
#   bench/run.sh [simulator|registry|payment_batch]...   (default: all of them)
# Sizes and repetitions: see each script's --help; BENCH_ARGS is passed to every script.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/_common.sh"

G2P_BENCH_DB=${G2P_BENCH_DB:-g2p_bank_bench}
CONFIG=$G2P_STATE_DIR/odoo-bench.conf
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(simulator registry payment_batch)

require_odoo
ensure_postgres
install_requirements
write_odoo_config "$CONFIG" 8269 0 root:0 0
say "Creating a fresh database $G2P_BENCH_DB (no demo data)"
drop_database "$G2P_BENCH_DB"
odoo_bin -c "$CONFIG" -d "$G2P_BENCH_DB" -i "$G2P_ADDONS" --without-demo=all \
    --stop-after-init --no-http --log-level=warn

cd "$REPO_DIR/bench"
for scenario in "${scenarios[@]}"; do
    script=bench_$scenario.py
    [ -f "$script" ] || die "no benchmark named $scenario (bench/$script)"
    say "bench/$script"
    # shellcheck disable=SC2086
    "$PYTHON" "$script" -c "$CONFIG" -d "$G2P_BENCH_DB" ${BENCH_ARGS:-}
done
