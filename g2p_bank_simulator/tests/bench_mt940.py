"""Quick check of the MT940 writer's speed and memory (a script, not a test).

    python3 g2p_bank_simulator/tests/bench_mt940.py [entries]

Writes a statement of 100,000 payment entries (default) from a generator, once
streaming the messages away (to show memory does not grow with the statement) and
once joined into one text, and prints the time and the peak Python memory of each.
"""

import importlib.util
import pathlib
import sys
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal


def _load_writer():
    # Run as a script, outside Odoo: load the package from its folder.
    folder = pathlib.Path(__file__).resolve().parent.parent / "mt940"
    spec = importlib.util.spec_from_file_location(
        "g2p_mt940", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["g2p_mt940"] = module
    spec.loader.exec_module(module)
    return module


def _entries(writer_module, count):
    day = date(2026, 11, 2)
    for index in range(count):
        mark = "RD" if index % 50 == 49 else "D"
        narrative = ["Cash transfer November", "PROG-CT", "CYCLE-2026-11"]
        narrative.append(f"Beneficiary {index:07d}")
        if mark == "RD":
            narrative += ["", "ACCOUNT_CLOSED"]
        yield writer_module.StatementEntry(
            value_date=day + timedelta(days=index % 20),
            entry_date=day + timedelta(days=index % 20),
            mark=mark,
            amount=Decimal(1500 + index % 1000) / 100,
            customer_reference=f"PAY{index:010d}",
            bank_reference=f"SIM{index:012d}",
            narrative=narrative,
        )


def main(count):
    module = _load_writer()
    header = module.StatementHeader(
        reference="BENCH0001",
        account="KE0212345678901234567890",
        number=1,
        currency="KES",
        decimals=2,
        opening_balance=Decimal("100000000.00"),
        opening_date=date(2026, 11, 1),
        closing_date=date(2026, 11, 30),
        available_balance=Decimal("0.00"),
        available_date=date(2026, 11, 30),
    )
    for mode in ("streamed", "joined"):
        tracemalloc.start()
        start = time.perf_counter()
        writer = module.Mt940Writer(header)
        if mode == "streamed":
            size = sum(
                len(message) for message in writer.messages(_entries(module, count))
            )
        else:
            size = len("".join(writer.messages(_entries(module, count))))
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        sys.stdout.write(
            f"{mode}: {writer.entry_count} entries, {writer.message_count} messages, "
            f"{size} characters in {elapsed:.2f} s (under tracemalloc), "
            f"peak {peak / 1e6:.1f} MB\n"
        )
    start = time.perf_counter()
    writer = module.Mt940Writer(header)
    size = sum(len(message) for message in writer.messages(_entries(module, count)))
    sys.stdout.write(f"plain run: {time.perf_counter() - start:.2f} s\n")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
