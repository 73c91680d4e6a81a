"""Statements and parser drivers shared by the MT940 writer tests (no test here)."""

import json
import logging
import os
import pathlib
import subprocess
import tempfile
import warnings
from datetime import date
from decimal import Decimal

import bankfile
import mt940

from odoo.addons.g2p_bank_simulator.mt940 import StatementEntry, StatementHeader

TRYTON_PYTHON_VAR = "G2P_MT940_TRYTON_PYTHON"

# Runs inside the virtual environment of Tryton's `mt940` (its import name is the one
# of the `mt-940` parser installed here): reads the files named on the command line,
# prints what it parsed as JSON.
_TRYTON_SCRIPT = """
import json, sys
import mt940

def balance(value):
    if value is None:
        return None
    return {"date": value.date.isoformat(), "amount": str(value.amount),
            "currency": value.currency}

def transaction(value):
    return {"date": value.date.isoformat(),
            "booking": value.booking and value.booking.isoformat(),
            "amount": str(value.amount), "id": value.id,
            "reference": value.reference,
            "institution_reference": value.institution_reference,
            "additional_data": value.additional_data,
            "description": value.description}

result = []
for path in sys.argv[1:]:
    result.append([
        {"statement": s.statement, "account": s.account,
         "information": s.information, "start_balance": balance(s.start_balance),
         "end_balance": balance(s.end_balance),
         "transactions": [transaction(t) for t in s.transactions]}
        for s in mt940.MT940(path).statements
    ])
json.dump(result, sys.stdout)
"""


def make_header(**values):
    defaults = {
        "reference": "STMT20261121",
        "account": "KE0212345678901234567890",
        "number": 12,
        "currency": "KES",
        "decimals": 2,
        "opening_balance": Decimal("5000.00"),
        "opening_date": date(2026, 11, 1),
        "closing_date": date(2026, 11, 21),
        "available_balance": Decimal("4000.00"),
        "available_date": date(2026, 11, 21),
    }
    defaults.update(values)
    return StatementHeader(**defaults)


def make_entry(mark, amount, customer_reference, bank_reference, narrative=(), **kw):
    return StatementEntry(
        value_date=kw.get("value_date", date(2026, 11, 20)),
        entry_date=kw.get("entry_date", date(2026, 11, 21)),
        mark=mark,
        amount=Decimal(amount),
        customer_reference=customer_reference,
        bank_reference=bank_reference,
        narrative=narrative,
    )


def payment_narrative(beneficiary, *more):
    """The narrative of a payment as the bridge sends it, plus ``more`` lines."""
    return ["Cash transfer Nov 2026", "PROGCT", "CT-2026-11", beneficiary, *more]


def mixed_entries():
    """A payment, a failed payment and its reversal, a credit and a credit reversal."""
    return [
        make_entry("D", "150.00", "PAY-0001", "SIM000001", payment_narrative("B-001")),
        make_entry("D", "200.50", "PAY-0002", "SIM000002", payment_narrative("B-002")),
        make_entry(
            "RD",
            "200.50",
            "PAY-0002",
            "SIM000003",
            payment_narrative("B-002", "", "ACCOUNT_CLOSED"),
            value_date=date(2026, 11, 21),
        ),
        make_entry("C", "1000.00", "TOPUP-77", "SIM000004", ["Program top-up"]),
        make_entry("RC", "25.00", "", "SIM000005", ["Credit returned", "duplicate"]),
    ]


def signed(entry):
    return entry.amount if entry.mark in ("C", "RD") else -entry.amount


def parse_mt_940(test, text, **kwargs):
    """Parse with `mt-940` and fail ``test`` on any warning or log of the parser."""
    with (
        warnings.catch_warnings(record=True) as caught,
        test.assertNoLogs("mt940", level=logging.WARNING),
    ):
        warnings.simplefilter("always")
        parsed = mt940.models.Transactions(**kwargs)
        parsed.parse(text)
    # A ResourceWarning is the garbage collector finishing another test's objects
    # (e.g. the browser process of a tour) while the parser ran: not the parser's.
    test.assertEqual(
        [str(w.message) for w in caught if w.category is not ResourceWarning], []
    )
    return parsed


def parse_bankfile(test, text):
    """Parse with `bankfile` (balance arithmetic included) and fail on any warning."""
    statement = bankfile.parse_bytes(text.encode("ascii"))
    test.assertEqual(
        [(w.rule, w.field, w.message) for w in statement.warnings],
        [],
        "bankfile reports warnings on the statement",
    )
    return statement


def parse_tryton(test, *texts):
    """Parse each text with Tryton's `mt940`, in its own virtual environment."""
    python = os.environ.get(TRYTON_PYTHON_VAR)
    if not python or not os.access(python, os.X_OK):
        test.fail(
            f"Tryton's mt940 parser is not available: {TRYTON_PYTHON_VAR} "
            f"({python or 'not set'}) must name the python of a virtual environment "
            f"with the PyPI package 'mt940' installed. scripts/test.sh creates it."
        )
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, text in enumerate(texts):
            path = pathlib.Path(folder, f"statement{index}.sta")
            path.write_bytes(text.encode("ascii"))
            paths.append(str(path))
        run = subprocess.run(
            [python, "-W", "error", "-c", _TRYTON_SCRIPT, *paths],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    test.assertEqual(run.returncode, 0, f"Tryton's mt940 failed:\n{run.stderr}")
    test.assertEqual(run.stderr, "")
    return json.loads(run.stdout)
