"""What the writer produces reads back, with the same meaning, in three parsers.

`mt-940` (the OpenG2P bridge's parser, also configured the way the bridge configures
it), Tryton's `mt940` (in its own virtual environment) and `bankfile` (which checks
that opening + entries = closing).
"""

from datetime import date
from decimal import Decimal

import bankfile
import mt940

from odoo.tests import BaseCase

from odoo.addons.g2p_bank_simulator.mt940 import write_statement

from .mt940_common import (
    make_entry,
    make_header,
    mixed_entries,
    parse_bankfile,
    parse_mt_940,
    parse_tryton,
    payment_narrative,
    signed,
)

# The :86: lines of mixed_entries() as written.
MIXED_DETAILS = [
    ["Cash transfer Nov 2026", "PROGCT", "CT-2026-11", "B-001"],
    ["Cash transfer Nov 2026", "PROGCT", "CT-2026-11", "B-002"],
    ["Cash transfer Nov 2026", "PROGCT", "CT-2026-11", "B-002", ".", "ACCOUNT.CLOSED"],
    ["Program top-up"],
    ["Credit returned", "duplicate"],
]


def _long_entries(count):
    """Payments, some failing (reversed with a reason), and a few credits."""
    entries = []
    for index in range(count):
        reference = f"PAY-{index:04d}"
        narrative = payment_narrative(f"B-{index:04d}")
        if index % 7 == 6:
            entries.append(
                make_entry("C", "99.99", reference, f"SIM{index:06d}", ["In"])
            )
        elif index % 5 == 4:
            entries.append(
                make_entry(
                    "RD",
                    "12.34",
                    f"PAY-{index - 1:04d}",
                    f"SIM{index:06d}",
                    [*narrative, "", "ACCOUNT_DECEASED"],
                )
            )
        else:
            entries.append(
                make_entry("D", "12.34", reference, f"SIM{index:06d}", narrative)
            )
    return entries


def _mt_940_sign(transaction):
    """The signed amount by the mark (mt-940 leaves an RC positive by default)."""
    amount = abs(transaction.data["amount"].amount)
    return -amount if transaction.data["status"] in ("D", "RC") else amount


class TestMt940ParsedBack(BaseCase):
    def test_mt_940_reads_every_field(self):
        entries = mixed_entries()
        text, writer = write_statement(make_header(), entries)
        parsed = parse_mt_940(self, text)
        data = parsed.data
        self.assertEqual(data["transaction_reference"], "STMT20261121")
        self.assertEqual(data["account_identification"], "KE0212345678901234567890")
        self.assertEqual(
            (data["statement_number"], data["sequence_number"]), ("12", "1")
        )
        opening = data["final_opening_balance"]
        self.assertEqual(
            (opening.status, opening.amount.amount, opening.date),
            ("C", Decimal("5000.00"), date(2026, 11, 1)),
        )
        closing = data["final_closing_balance"]
        self.assertEqual(
            (closing.status, closing.amount.amount, closing.date),
            ("C", Decimal("5825.00"), date(2026, 11, 21)),
        )
        self.assertEqual(data["available_balance"].amount.amount, Decimal("4000.00"))
        self.assertEqual(len(parsed), len(entries))
        for entry, transaction in zip(entries, parsed, strict=True):
            got = transaction.data
            self.assertEqual(got["status"], entry.mark)
            self.assertEqual(abs(got["amount"].amount), entry.amount)
            self.assertEqual(got["amount"].currency, "KES")
            self.assertEqual(got["id"], "NTRF")
            self.assertEqual(
                got["customer_reference"], entry.customer_reference or "NONREF"
            )
            self.assertEqual(got["bank_reference"], entry.bank_reference)
            self.assertEqual(got["date"], entry.value_date)
            self.assertEqual(got["entry_date"], entry.entry_date)
        self.assertEqual(
            [t.data["transaction_details"].split("\n") for t in parsed], MIXED_DETAILS
        )
        movement = sum((_mt_940_sign(t) for t in parsed), Decimal(0))
        self.assertEqual(opening.amount.amount + movement, writer.closing_balance)

    def test_read_as_the_openg2p_bridge_reads_it(self):
        text, _writer = write_statement(make_header(), mixed_entries())
        # The bridge's statement processor configures mt-940 this way before parsing.
        self.patch(mt940.tags.BalanceBase, "scope", mt940.models.Transaction)
        tags = [
            mt940.tags.AccountIdentification(),
            mt940.tags.StatementNumber(),
            mt940.tags.TransactionReferenceNumber(),
            mt940.tags.Statement(),
        ]
        parsed = parse_mt_940(
            self,
            text,
            processors={
                "pre_statement": [mt940.processors.add_currency_pre_processor("")]
            },
            tags={tag.id: tag for tag in tags},
        )
        read = []
        for transaction in parsed:
            data = transaction.data
            if data["status"] not in ("D", "RD"):
                continue
            narratives = data["transaction_details"].split("\n")
            read.append(
                (
                    data["status"],
                    data["customer_reference"],
                    data["bank_reference"],
                    narratives[3] if data["status"] == "D" else narratives[-1],
                    data["entry_date"],
                    data["date"],
                    data["amount"].amount,
                )
            )
        day, next_day = date(2026, 11, 20), date(2026, 11, 21)
        self.assertEqual(
            read,
            [
                ("D", "PAY-0001", "SIM000001", "B-001", next_day, day, Decimal(-150)),
                (
                    "D",
                    "PAY-0002",
                    "SIM000002",
                    "B-002",
                    next_day,
                    day,
                    Decimal("-200.5"),
                ),
                (
                    "RD",
                    "PAY-0002",
                    "SIM000003",
                    "ACCOUNT.CLOSED",
                    next_day,
                    next_day,
                    Decimal("200.5"),
                ),
            ],
        )

    def test_bankfile_finds_the_balances_add_up(self):
        entries = mixed_entries()
        text, _writer = write_statement(make_header(), entries)
        statement = parse_bankfile(self, text)
        self.assertEqual(statement.account, "KE0212345678901234567890")
        self.assertEqual(statement.currency, "KES")
        self.assertEqual(statement.opening_balance, Decimal("5000.00"))
        self.assertEqual(statement.closing_balance, Decimal("5825.00"))
        got = statement.transactions
        self.assertEqual([t.amount for t in got], [signed(e) for e in entries])
        self.assertEqual(
            [t.reference for t in got],
            ["PAY-0001", "PAY-0002", "PAY-0002", "TOPUP-77", "NONREF"],
        )
        self.assertEqual(
            [t.bank_reference for t in got], [e.bank_reference for e in entries]
        )
        self.assertEqual([t.booking_date for t in got], [e.entry_date for e in entries])
        self.assertEqual({t.type_code for t in got}, {"TRANSFER"})
        # The check is live: a closing balance off by one cent is reported.
        tampered = text.replace(":62F:C261121KES5825,00", ":62F:C261121KES5825,01")
        warnings = bankfile.parse_bytes(tampered.encode()).warnings
        self.assertIn("does not add up", " ".join(w.message for w in warnings))

    def test_tryton_reads_every_field(self):
        entries = mixed_entries()
        text, _writer = write_statement(make_header(), entries)
        [[statement]] = parse_tryton(self, text)
        self.assertEqual(statement["statement"], "STMT20261121")
        self.assertEqual(statement["account"], "KE0212345678901234567890")
        self.assertEqual(statement["information"], "12/1")
        self.assertEqual(
            statement["start_balance"],
            {"date": "2026-11-01", "amount": "5000.00", "currency": "KES"},
        )
        self.assertEqual(
            statement["end_balance"],
            {"date": "2026-11-21", "amount": "5825.00", "currency": "KES"},
        )
        got = statement["transactions"]
        self.assertEqual(len(got), len(entries))
        for entry, details, transaction in zip(
            entries, MIXED_DETAILS, got, strict=True
        ):
            self.assertEqual(transaction["date"], entry.value_date.isoformat())
            self.assertEqual(transaction["booking"], entry.entry_date.isoformat())
            self.assertEqual(Decimal(transaction["amount"]), signed(entry))
            self.assertEqual(transaction["id"], "NTRF")
            self.assertEqual(
                transaction["reference"], entry.customer_reference or "NONREF"
            )
            self.assertEqual(transaction["institution_reference"], entry.bank_reference)
            self.assertIsNone(transaction["additional_data"])
            self.assertEqual(transaction["description"], "\n".join(details))


class TestMt940SpecialStatementsParsedBack(BaseCase):
    def test_entry_booked_in_the_next_year(self):
        entry = make_entry(
            "D",
            "1",
            "P1",
            "S1",
            ["x"],
            value_date=date(2026, 12, 31),
            entry_date=date(2027, 1, 2),
        )
        text, _writer = write_statement(make_header(), [entry])
        self.assertIn(":61:2612310102D1,00NTRFP1//S1\r\n", text)
        [transaction] = parse_mt_940(self, text)
        self.assertEqual(transaction.data["date"], date(2026, 12, 31))
        self.assertEqual(transaction.data["entry_date"], date(2027, 1, 2))

    def test_multi_message_statement_reads_back_whole(self):
        entries = _long_entries(45)
        header = make_header()
        text, writer = write_statement(header, entries)
        self.assertGreaterEqual(writer.message_count, 3)
        expected_closing = header.opening_balance + sum(signed(e) for e in entries)
        self.assertEqual(writer.closing_balance, expected_closing)

        merged = parse_mt_940(self, text)
        self.assertEqual(
            [t.data["bank_reference"] for t in merged],
            [e.bank_reference for e in entries],
        )
        self.assertEqual([t.data["status"] for t in merged], [e.mark for e in entries])
        self.assertEqual(
            merged.data["final_opening_balance"].amount.amount, header.opening_balance
        )
        self.assertEqual(
            merged.data["final_closing_balance"].amount.amount, expected_closing
        )
        reasons = {
            t.data["transaction_details"].split("\n")[-1]
            for t in merged
            if t.data["status"] == "RD"
        }
        self.assertEqual(reasons, {"ACCOUNT.DECEASED"})

        # Message by message: the balances chain, and the parts hold every entry once.
        parts = mt940.parse_statements(text)
        self.assertEqual(len(parts), writer.message_count)
        balance = header.opening_balance
        for number, part in enumerate(parts, start=1):
            self.assertEqual(part.data["sequence_number"], str(number))
            opening = part.data.get("final_opening_balance") or part.data.get(
                "intermediate_opening_balance"
            )
            closing = part.data.get("final_closing_balance") or part.data.get(
                "intermediate_closing_balance"
            )
            self.assertEqual(opening.amount.amount, balance)
            balance += sum((_mt_940_sign(t) for t in part), Decimal(0))
            self.assertEqual(closing.amount.amount, balance)
        self.assertEqual(balance, expected_closing)
        self.assertEqual(sum(len(part) for part in parts), len(entries))

        statement = parse_bankfile(self, text)
        self.assertEqual(statement.opening_balance, header.opening_balance)
        self.assertEqual(statement.closing_balance, expected_closing)
        self.assertEqual(
            [t.amount for t in statement.transactions], [signed(e) for e in entries]
        )

        [tryton] = parse_tryton(self, text)
        self.assertEqual(len(tryton), writer.message_count)
        self.assertEqual(
            [s["information"] for s in tryton],
            [f"12/{n}" for n in range(1, writer.message_count + 1)],
        )
        self.assertEqual(
            Decimal(tryton[0]["start_balance"]["amount"]), header.opening_balance
        )
        self.assertEqual(Decimal(tryton[-1]["end_balance"]["amount"]), expected_closing)
        # Tryton reads only :60F:/:62F:, so the middle balances are absent there.
        self.assertTrue(all(s["start_balance"] is None for s in tryton[1:]))
        self.assertTrue(all(s["end_balance"] is None for s in tryton[:-1]))
        self.assertEqual(
            [Decimal(t["amount"]) for s in tryton for t in s["transactions"]],
            [signed(e) for e in entries],
        )

    def test_empty_statement_reads_back(self):
        header = make_header(opening_balance=Decimal("-12.50"))
        text, _writer = write_statement(header, [])
        parsed = parse_mt_940(self, text)
        self.assertEqual(len(parsed), 0)
        self.assertEqual(
            parsed.data["final_opening_balance"].amount.amount, Decimal("-12.5")
        )
        self.assertEqual(
            parsed.data["final_closing_balance"].amount.amount, Decimal("-12.5")
        )
        statement = parse_bankfile(self, text)
        self.assertEqual(
            (
                statement.opening_balance,
                statement.closing_balance,
                statement.transactions,
            ),
            (Decimal("-12.50"), Decimal("-12.50"), []),
        )
        [[tryton]] = parse_tryton(self, text)
        self.assertEqual(tryton["transactions"], [])
        self.assertEqual(tryton["start_balance"]["amount"], "-12.50")
        self.assertEqual(tryton["end_balance"]["amount"], "-12.50")

    def test_zero_and_three_decimal_currencies_and_debit_opening(self):
        cases = [
            (
                make_header(currency="JPY", decimals=0, opening_balance=Decimal(-300)),
                [
                    make_entry("D", "1500", "P1", "S1", ["x"]),
                    make_entry("RD", "1500", "P1", "S2", ["ACCOUNT_CLOSED"]),
                    make_entry("C", "1000", "P2", "S3", ["y"]),
                ],
                Decimal(700),
            ),
            (
                make_header(
                    currency="BHD", decimals=3, opening_balance=Decimal("-1.5")
                ),
                [
                    make_entry("D", "12.345", "P1", "S1", ["x"]),
                    make_entry("C", "0.005", "P2", "S2", ["y"]),
                    make_entry("RC", "0.1", "P3", "S3", ["z"]),
                ],
                Decimal("-13.940"),
            ),
        ]
        texts = []
        for header, entries, closing in cases:
            with self.subTest(currency=header.currency):
                text, writer = write_statement(header, entries)
                texts.append(text)
                self.assertEqual(writer.closing_balance, closing)
                parsed = parse_mt_940(self, text)
                self.assertEqual(
                    [abs(t.data["amount"].amount) for t in parsed],
                    [e.amount for e in entries],
                )
                self.assertEqual(parsed.data["final_opening_balance"].status, "D")
                self.assertEqual(
                    parsed.data["final_opening_balance"].amount.amount,
                    header.opening_balance,
                )
                self.assertEqual(
                    parsed.data["final_closing_balance"].amount.amount, closing
                )
                statement = parse_bankfile(self, text)
                self.assertEqual(statement.closing_balance, closing)
                self.assertEqual(
                    [t.amount for t in statement.transactions],
                    [signed(e) for e in entries],
                )
        tryton = parse_tryton(self, *texts)
        for (header, entries, closing), [statement] in zip(cases, tryton, strict=True):
            self.assertEqual(
                Decimal(statement["start_balance"]["amount"]), header.opening_balance
            )
            self.assertEqual(Decimal(statement["end_balance"]["amount"]), closing)
            self.assertEqual(
                [Decimal(t["amount"]) for t in statement["transactions"]],
                [signed(e) for e in entries],
            )

    def test_sanitised_statement_reads_the_same_in_tryton(self):
        entry = make_entry(
            "RD",
            "1",
            "PAY_2026@Ünïcode//x/",
            "//SIM//0001/",
            [":61:fake", "-dash", "Ærø café", "x" * 80, "", "ACCOUNT_NOT_FOUND"],
        )
        text, _writer = write_statement(make_header(reference="/ST__1/"), [entry])
        details = parse_mt_940(self, text).transactions[0].data["transaction_details"]
        [[statement]] = parse_tryton(self, text)
        self.assertEqual(statement["statement"], "ST..1")
        [transaction] = statement["transactions"]
        self.assertEqual(transaction["reference"], "PAY.2026.Unicode")
        self.assertEqual(transaction["institution_reference"], "SIM/0001")
        self.assertEqual(transaction["description"], details)
        self.assertEqual(
            details.split("\n"),
            [
                ".61:fake",
                ".dash",
                ".r. cafe",
                "x" * 65,
                "PAY.2026.Unicode/x",
                "ACCOUNT.NOT.FOUND",
            ],
        )
