"""Benchmark: POST /api/v1/registry/registrants/bulk with 1,000 new registrants,
each with a bank account (IBAN, bank by BIC), a mobile wallet every fifth one.

Usage (the suite installed in DB, no server needed)::

    python3 bench/bench_registry.py -c .local/odoo-test.conf -d DB [-n 5] [--size 1000]

How it measures: Odoo is used as a library. The script builds the registry
endpoint's real FastAPI app (its middlewares, dependency overrides and API-key
authentication included) and calls it in-process with Starlette's TestClient, as a
temporary API client user with a temporary key. Each repetition is timed from just
before the request is sent until its answer is received and every pending write and
pre-commit hook (chatter tracking) has run; the HTTP server and the final COMMIT are
not included. Every
repetition is rolled back, so the database is left as it was.
"""

import argparse
import json
import statistics
import sys
import time
import uuid
from contextlib import closing

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.tools import config


def payload(size, run):
    """``size`` registrants; German IBANs are made valid by schwifty."""
    from schwifty import IBAN

    registrants = []
    for index in range(size):
        number = f"{run:02d}{index:08d}"
        accounts = [
            {
                "iban": IBAN.generate(
                    "DE", bank_code="37040044", account_code=number
                ).compact,
                "bank_bic": "COBADEFF",
                "holder_name": f"Bench Person {run}-{index}",
            }
        ]
        if index % 5 == 0:
            accounts.append(
                {
                    "account_type": "mobile_wallet",
                    "wallet_provider": "M-Pesa",
                    "phone": f"+2547{run:02d}{index:06d}",
                }
            )
        registrants.append(
            {
                "functional_id": f"BENCH{run:02d}-{index:06d}",
                "name": f"Bench Person {run}-{index}",
                "country_code": "KE",
                "accounts": accounts,
            }
        )
    return {"registrants": registrants}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration")
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-n", "--repetitions", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    config.parse_config(["-c", args.config, "-d", args.database])

    from extendable import context
    from fastapi.testclient import TestClient

    from odoo.addons.extendable.registry import _extendable_registries_database
    from odoo.addons.fastapi.context import odoo_env_ctx

    registry = odoo.modules.registry.Registry(args.database)
    timings = []
    with closing(registry.cursor()) as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        endpoint = env.ref("g2p_bank_rest_api.fastapi_endpoint_registry")
        user = env["res.users"].create(
            {
                "name": "Bench registry client",
                "login": f"bench-{uuid.uuid4()}",
                "groups_id": [
                    Command.set([env.ref("g2p_bank_rest_api.group_registry_api").id])
                ],
            }
        )
        key = str(uuid.uuid4())
        env["auth.api.key"].create({"name": "bench", "key": key, "user_id": user.id})
        env.flush_all()
        context.extendable_registry.set(
            _extendable_registries_database.get(args.database)
        )
        odoo_env_ctx.set(env(user=endpoint.user_id))
        client = TestClient(endpoint._get_app())
        for run in range(args.repetitions):
            body = json.dumps(payload(args.size, run))
            with closing(cr.savepoint()):  # closing() rolls the repetition back
                start = time.perf_counter()
                response = client.post(
                    "/registrants/bulk",
                    content=body,
                    headers={"HTTP-API-KEY": key, "Content-Type": "application/json"},
                )
                cr.flush()  # pending writes and pre-commit hooks (chatter tracking)
                timings.append(time.perf_counter() - start)
                result = response.json()
                if response.status_code != 200 or result["created"] != args.size:
                    sys.exit(f"unexpected answer {response.status_code}: {result}")
                env.invalidate_all()
        cr.rollback()
    sys.stdout.write(
        f"POST /registrants/bulk, {args.size} new registrants with accounts, "
        f"{args.repetitions} repetitions (in-process app call, flush and pre-commit "
        f"hooks included, COMMIT excluded, rolled back):\n"
        f"  median {statistics.median(timings):.3f} s, min {min(timings):.3f} s, "
        f"max {max(timings):.3f} s\n"
    )


if __name__ == "__main__":
    main()
