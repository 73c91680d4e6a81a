#!/usr/bin/env bash
# Run the suite's benchmarks and print their figures.
#   bench/run.sh [simulator|registry|payment_batch|bank_api|batch_runner|side_by_side]...
#   (default: all but side_by_side, which runs only on request)
# The in-process benchmarks share a fresh database without demo data; bank_api,
# batch_runner and side_by_side set up and serve their own (see bench/odoo_bank.py).
# Sizes and repetitions: see each script's --help; BENCH_ARGS is passed to every script.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/_common.sh"

G2P_BENCH_DB=${G2P_BENCH_DB:-g2p_bank_bench}
CONFIG=$G2P_STATE_DIR/odoo-bench.conf
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(simulator registry payment_batch bank_api batch_runner)

require_odoo
ensure_postgres
install_requirements
export G2P_STATE_DIR

cd "$REPO_DIR/bench"
database_ready=
for scenario in "${scenarios[@]}"; do
    script=bench_$scenario.py
    [ "$scenario" = side_by_side ] && script=side_by_side.py
    [ -f "$script" ] || die "no benchmark named $scenario (bench/$script)"
    say "bench/$script"
    case $scenario in
        bank_api | batch_runner | side_by_side)
            # shellcheck disable=SC2086
            "$PYTHON" "$script" --state-dir "$G2P_STATE_DIR" ${BENCH_ARGS:-}
            ;;
        *)
            if [ -z "$database_ready" ]; then
                write_odoo_config "$CONFIG" 8269 0 root:0 0
                say "Creating a fresh database $G2P_BENCH_DB (no demo data)"
                drop_database "$G2P_BENCH_DB"
                odoo_bin -c "$CONFIG" -d "$G2P_BENCH_DB" -i "$G2P_ADDONS" \
                    --without-demo=all --stop-after-init --no-http --log-level=warn
                database_ready=1
            fi
            # shellcheck disable=SC2086
            "$PYTHON" "$script" -c "$CONFIG" -d "$G2P_BENCH_DB" ${BENCH_ARGS:-}
            ;;
    esac
done
