"""The MT940 writer's own rules: layout, amounts, character set, splitting, errors."""

import dataclasses
import types
from datetime import date
from decimal import Decimal

from odoo.tests import BaseCase

from odoo.addons.g2p_bank_simulator.mt940 import (
    Mt940Writer,
    sanitize,
    write_statement,
)
from odoo.addons.g2p_bank_simulator.mt940.text import ALLOWED

from .mt940_common import (
    make_entry,
    make_header,
    mixed_entries,
    parse_mt_940,
    payment_narrative,
)


def _lines(text):
    return text.split("\r\n")


class TestMt940Layout(BaseCase):
    def test_mixed_statement_is_written_field_by_field(self):
        text, writer = write_statement(make_header(), mixed_entries())
        self.assertEqual(
            _lines(text),
            [
                ":20:STMT20261121",
                ":25:KE0212345678901234567890",
                ":28C:12/1",
                ":60F:C261101KES5000,00",
                ":61:2611201121D150,00NTRFPAY-0001//SIM000001",
                ":86:Cash transfer Nov 2026",
                "PROGCT",
                "CT-2026-11",
                "B-001",
                ":61:2611201121D200,50NTRFPAY-0002//SIM000002",
                ":86:Cash transfer Nov 2026",
                "PROGCT",
                "CT-2026-11",
                "B-002",
                ":61:2611211121RD200,50NTRFPAY-0002//SIM000003",
                ":86:Cash transfer Nov 2026",
                "PROGCT",
                "CT-2026-11",
                "B-002",
                ".",
                "ACCOUNT.CLOSED",
                ":61:2611201121C1000,00NTRFTOPUP-77//SIM000004",
                ":86:Program top-up",
                ":61:2611201121RC25,00NTRFNONREF//SIM000005",
                ":86:Credit returned",
                "duplicate",
                ":62F:C261121KES5825,00",
                ":64:C261121KES4000,00",
                "-",
                "",
            ],
        )
        self.assertEqual(writer.message_count, 1)
        self.assertEqual(writer.entry_count, 5)
        self.assertEqual(writer.closing_balance, Decimal("5825.00"))

    def test_every_line_ends_with_crlf(self):
        text, _writer = write_statement(make_header(), mixed_entries())
        self.assertTrue(text.endswith("\r\n-\r\n"))
        self.assertNotIn("\n", text.replace("\r\n", ""))
        self.assertNotIn("\r", text.replace("\r\n", ""))

    def test_empty_statement_opens_and_closes_on_the_same_balance(self):
        text, writer = write_statement(make_header(), [])
        self.assertEqual(
            _lines(text),
            [
                ":20:STMT20261121",
                ":25:KE0212345678901234567890",
                ":28C:12/1",
                ":60F:C261101KES5000,00",
                ":62F:C261121KES5000,00",
                ":64:C261121KES4000,00",
                "-",
                "",
            ],
        )
        self.assertEqual(
            (writer.message_count, writer.entry_count, writer.closing_balance),
            (1, 0, Decimal("5000.00")),
        )

    def test_entry_without_narrative_gets_nonref(self):
        text, _writer = write_statement(
            make_header(), [make_entry("C", "5", "", "SIM1", ["", "  ", ""])]
        )
        self.assertIn(":61:2611201121C5,00NTRFNONREF//SIM1\r\n:86:NONREF\r\n", text)

    def test_empty_lines_keep_their_position_and_trailing_ones_go(self):
        entry = make_entry("D", "1", "P1", "S1", ["", "PROG", "", "Amina", "", ""])
        text, _writer = write_statement(make_header(), [entry])
        self.assertIn(":86:.\r\nPROG\r\n.\r\nAmina\r\n:62F:", text)


class TestMt940Amounts(BaseCase):
    def test_zero_decimal_currency(self):
        header = make_header(
            currency="JPY",
            decimals=0,
            opening_balance=Decimal(0),
            available_balance=Decimal(-1500),
        )
        entries = [
            make_entry("D", "1500", "P1", "S1", ["x"]),
            make_entry("C", "1E+3", "P2", "S2", ["x"]),
        ]
        text, writer = write_statement(header, entries)
        lines = _lines(text)
        self.assertIn(":60F:C261101JPY0,", lines)
        self.assertIn(":61:2611201121D1500,NTRFP1//S1", lines)
        self.assertIn(":61:2611201121C1000,NTRFP2//S2", lines)
        self.assertIn(":62F:D261121JPY500,", lines)
        self.assertIn(":64:D261121JPY1500,", lines)
        self.assertEqual(writer.closing_balance, Decimal(-500))

    def test_three_decimal_currency(self):
        header = make_header(currency="BHD", decimals=3, opening_balance=Decimal(1))
        entries = [
            make_entry("D", "12.345", "P1", "S1", ["x"]),
            make_entry("C", "0.005", "P2", "S2", ["x"]),
            make_entry("C", "12.3", "P3", "S3", ["x"]),
        ]
        text, writer = write_statement(header, entries)
        lines = _lines(text)
        self.assertIn(":60F:C261101BHD1,000", lines)
        self.assertIn(":61:2611201121D12,345NTRFP1//S1", lines)
        self.assertIn(":61:2611201121C0,005NTRFP2//S2", lines)
        self.assertIn(":61:2611201121C12,300NTRFP3//S3", lines)
        self.assertIn(":62F:C261121BHD0,960", lines)
        self.assertIn(":64:C261121BHD4000,000", lines)
        self.assertEqual(writer.closing_balance, Decimal("0.960"))

    def test_negative_opening_balance_is_a_debit(self):
        header = make_header(opening_balance=Decimal("-250.75"))
        text, writer = write_statement(
            header,
            [
                make_entry("D", "10", "P1", "S1", ["x"]),
                make_entry("C", "260.75", "P2", "S2", ["x"]),
            ],
        )
        self.assertIn(":60F:D261101KES250,75\r\n", text)
        # -250.75 - 10 + 260.75 = 0: a zero balance is a credit.
        self.assertIn(":62F:C261121KES0,00\r\n", text)
        self.assertEqual(writer.closing_balance, Decimal(0))

    def test_negative_zero_is_a_credit(self):
        text, _writer = write_statement(
            make_header(opening_balance=Decimal("-0.00")), []
        )
        self.assertIn(":60F:C261101KES0,00\r\n", text)

    def test_over_precise_amount_is_refused(self):
        with self.assertRaisesRegex(ValueError, r"more decimals than KES allows \(2\)"):
            write_statement(
                make_header(),
                [
                    make_entry("D", "1.00", "P1", "S1"),
                    make_entry("D", "10.005", "P", "S"),
                ],
            )
        header = make_header(currency="JPY", decimals=0, opening_balance=Decimal(0))
        with self.assertRaisesRegex(ValueError, r"more decimals than JPY allows \(0\)"):
            write_statement(header, [make_entry("D", "1500.5", "P1", "S1")])
        with self.assertRaisesRegex(ValueError, "opening balance.*more decimals"):
            Mt940Writer(make_header(opening_balance=Decimal("0.001")))

    def test_float_zero_and_negative_amounts_are_refused(self):
        entry = make_entry("D", "1", "P1", "S1")
        with self.assertRaisesRegex(TypeError, "Decimal, not a float"):
            write_statement(make_header(), [dataclasses.replace(entry, amount=1.5)])
        for amount in ("0", "-5"):
            with self.assertRaisesRegex(ValueError, "must be positive"):
                write_statement(make_header(), [make_entry("D", amount, "P", "S")])

    def test_amount_too_long_for_15_characters(self):
        with self.assertRaisesRegex(ValueError, "too large"):
            write_statement(
                make_header(), [make_entry("C", "1234567890123.00", "P", "S")]
            )


class TestMt940Characters(BaseCase):
    def test_sanitize_folds_accents_and_replaces_the_rest(self):
        self.assertEqual(sanitize("José_Mar@ía ÅÇ"), "Jose.Mar.ia AC")
        self.assertEqual(sanitize("Straße\tæ\n"), "Stra.e...")
        self.assertEqual(sanitize("A-z 0/9?:().,'+"), "A-z 0/9?:().,'+")

    def test_references_and_narrative_are_sanitised(self):
        header = make_header(reference="/STMT//2026_1/", account=" KE02 Ünï 1234 ")
        entry = make_entry(
            "D",
            "1",
            "PAY_2026@Ünïcode//x/",
            "//SIM//0001/",
            [
                ":61:fake tag",
                "-ACCOUNT_CLOSED",
                "Ærøskøbing Straße café",
                "x" * 80,
                "   ",
                "José_Mar@ía\nnext",
            ],
        )
        text, _writer = write_statement(header, [entry])
        self.assertLessEqual(set(text) - ALLOWED, {"\r", "\n"})
        lines = _lines(text)
        self.assertEqual(lines[0], ":20:STMT/2026.1")
        self.assertEqual(lines[1], ":25:KE02 Uni 1234")
        # 18 characters after sanitising: cut in :61:, carried whole in :86: (contract).
        self.assertEqual(lines[4], ":61:2611201121D1,00NTRFPAY.2026.Unicode//SIM/0001")
        self.assertEqual(
            lines[5:12],
            [
                ":86:.61:fake tag",
                ".ACCOUNT.CLOSED",
                ".r.sk.bing Stra.e cafe",
                "x" * 65,
                "PAY.2026.Unicode/x",
                "Jose.Mar.ia.next",
                ":62F:C261121KES4999,00",
            ],
        )
        parsed = parse_mt_940(self, text)
        self.assertEqual(parsed.data["transaction_reference"], "STMT/2026.1")
        transaction = parsed.transactions[0].data
        self.assertEqual(transaction["customer_reference"], "PAY.2026.Unicode")
        self.assertEqual(transaction["bank_reference"], "SIM/0001")
        self.assertEqual(
            transaction["transaction_details"].split("\n"),
            [lines[5].removeprefix(":86:"), *lines[6:11]],
        )

    def test_no_line_may_start_like_a_tag_or_the_message_end(self):
        entry = make_entry("C", "1", "P", "S", ["ok", ":62F:C261121KES0,00", "-", "-x"])
        text, _writer = write_statement(make_header(), [entry])
        self.assertIn(":86:ok\r\n.62F:C261121KES0,00\r\n.\r\n.x\r\n:62F:", text)

    def test_structured_looking_narrative_stays_plain_text(self):
        # mt-940 reads "123?45..." as a German structured :86: and drops the text.
        entry = make_entry("C", "1", "P", "S", ["12", "3?45 paid", "B?"])
        text, _writer = write_statement(make_header(), [entry])
        self.assertIn(":86:12\r\n3.45 paid\r\nB?\r\n", text)
        details = parse_mt_940(self, text).transactions[0].data["transaction_details"]
        self.assertEqual(details.split("\n"), ["12", "3.45 paid", "B?"])

    def test_long_reference_goes_after_the_beneficiary_and_before_the_reason(self):
        reference = "G2P-PAYMENT-2026-11-000123"
        entries = [
            make_entry("D", "5", reference, "S1", payment_narrative("B-9", "", "")),
            make_entry(
                "RD",
                "5",
                reference,
                "S2",
                payment_narrative("B-9", "", "ACCOUNT_DORMANT"),
            ),
            make_entry("RD", "5", reference, "S3", ["ACCOUNT_NOT_FOUND"]),
        ]
        parsed = parse_mt_940(self, write_statement(make_header(), entries)[0])
        details = [t.data["transaction_details"].split("\n") for t in parsed]
        self.assertEqual(
            [t.data["customer_reference"] for t in parsed], ["G2P-PAYMENT-2026"] * 3
        )
        self.assertEqual(details[0][3:], ["B-9", reference])
        self.assertEqual(details[1][3:], ["B-9", reference, "ACCOUNT.DORMANT"])
        self.assertEqual(
            details[2], [".", ".", ".", ".", reference, "ACCOUNT.NOT.FOUND"]
        )

    def test_more_than_six_lines_are_folded_keeping_the_placed_lines(self):
        """A long reference with narratives 5 and 6 (a reversal: with narrative 5)
        needs 7 lines: folded into 6, never a failed statement."""
        reference = "G2P-PAYMENT-2026-11-000123"
        entries = [
            make_entry("D", "5", reference, "S1", payment_narrative("B-9", "N5", "N6")),
            make_entry(
                "RD",
                "5",
                reference,
                "S2",
                payment_narrative("B-9", "N5", "ACCOUNT_DORMANT"),
            ),
            # Written before intake refused line breaks: 8 lines, no reference.
            make_entry(
                "D", "5", "P-1", "S3", ["a", "b", "c", "B-1", "e", "f", "g", "h"]
            ),
            make_entry("RD", "5", "P-2", "S4", [*"abcdefg", "ACCOUNT_CLOSED"]),
        ]
        text, _writer = write_statement(make_header(), entries)
        parsed = parse_mt_940(self, text)
        details = [t.data["transaction_details"].split("\n") for t in parsed]
        self.assertEqual(details[0][3:], ["B-9", "N5 N6", reference])
        self.assertEqual(details[1][3:], ["B-9", reference, "ACCOUNT.DORMANT"])
        self.assertEqual(details[2], ["a", "b", "c", "B-1", "e f g h"])
        self.assertEqual(details[3], ["a", "b", "c", "d", "e f g", "ACCOUNT.CLOSED"])
        # A folded line is cut to 65 characters like any other.
        entry = make_entry("D", "5", "P-3", "S5", ["x"] * 4 + ["y" * 40] * 3)
        text, _writer = write_statement(make_header(), [entry])
        folded = parse_mt_940(self, text)[0].data["transaction_details"].split("\n")
        self.assertEqual(folded[4], ("y" * 40 + " " + "y" * 40)[:65])
        self.assertEqual(len(folded), 5)


class TestMt940Refusals(BaseCase):
    def test_header_values_that_cannot_be_written(self):
        cases = [
            ({"reference": "STMT-2026-11-0001X"}, "statement reference"),
            ({"reference": "//"}, "statement reference"),
            ({"account": "A" * 36}, "account identification"),
            ({"number": 100000}, "statement number"),
            ({"number": 0}, "statement number"),
            ({"currency": "kes"}, "ISO 4217"),
            ({"currency": "K1S"}, "ISO 4217"),
            ({"decimals": 5}, "cannot have 5 decimals"),
            ({"opening_date": date(1999, 12, 31)}, "cannot be written"),
        ]
        for values, message in cases:
            with (
                self.subTest(values=values),
                self.assertRaisesRegex(ValueError, message),
            ):
                Mt940Writer(make_header(**values))

    def test_entry_values_that_cannot_be_written(self):
        cases = [
            (make_entry("X", "1", "P", "S", ["x"]), "mark 'X'"),
            (make_entry("D", "1", "P", "", ["x"]), "bank reference"),
            (make_entry("D", "1", "P", "S" * 17, ["x"]), "bank reference"),
            (make_entry("RD", "1", "P", "S", ["", ""]), "reason as the last"),
        ]
        for entry, message in cases:
            with (
                self.subTest(message=message),
                self.assertRaisesRegex(ValueError, message),
            ):
                write_statement(make_header(), [entry])

    def test_entry_larger_than_a_message(self):
        entry = make_entry("D", "1", "P", "S", ["x" * 65] * 6)
        with self.assertRaisesRegex(ValueError, "does not fit in a message of 400"):
            write_statement(make_header(), [entry], max_message_chars=400)


class TestMt940Messages(BaseCase):
    def _entries(self, count):
        return [
            make_entry(
                "D" if index % 4 else "C",
                "10.00",
                f"PAY-{index:04d}",
                f"SIM{index:06d}",
                payment_narrative(f"B-{index:04d}"),
            )
            for index in range(count)
        ]

    def test_long_statement_is_split_into_chained_messages(self):
        entries = self._entries(40)
        writer = Mt940Writer(make_header())
        messages = list(writer.messages(entries))
        self.assertGreaterEqual(len(messages), 3)
        self.assertEqual(writer.message_count, len(messages))
        self.assertEqual(writer.entry_count, 40)
        opening = Decimal("5000.00")
        written = 0
        for number, message in enumerate(messages, start=1):
            last = number == len(messages)
            lines = _lines(message)
            self.assertLessEqual(len(message), 2000)
            self.assertEqual(
                lines[:3],
                [
                    ":20:STMT20261121",
                    ":25:KE0212345678901234567890",
                    f":28C:12/{number}",
                ],
            )
            self.assertTrue(lines[3].startswith(":60F:" if number == 1 else ":60M:"))
            self.assertEqual(lines[-2:], ["-", ""])
            self.assertEqual(lines[-4].startswith(":62F:"), last)
            self.assertEqual(lines[-3].startswith(":64:"), last)
            self.assertEqual(any(x.startswith(":62M:") for x in lines), not last)
            # A :61: is always followed by its :86:, inside the same message.
            tags = [line[:4] for line in lines if line.startswith(":")]
            self.assertEqual(tags.count(":61:"), tags.count(":86:"))
            for index, tag in enumerate(tags):
                if tag == ":61:":
                    self.assertEqual(tags[index + 1], ":86:")
            parsed = parse_mt_940(self, message)
            opening_key = (
                "final_opening_balance"
                if number == 1
                else "intermediate_opening_balance"
            )
            closing_key = (
                "final_closing_balance" if last else "intermediate_closing_balance"
            )
            self.assertEqual(parsed.data[opening_key].amount.amount, opening)
            movement = sum((t.data["amount"].amount for t in parsed), Decimal(0))
            closing = parsed.data[closing_key].amount.amount
            self.assertEqual(opening + movement, closing)
            opening = closing
            written += len(parsed)
            if not last:
                # Split only when the next entry really does not fit.
                first_next = messages[number].index(":61:")
                block_end = messages[number].index(":61:", first_next + 1)
                block = messages[number][first_next:block_end]
                self.assertGreater(len(message) + len(block), 2000)
        self.assertEqual(written, 40)
        self.assertEqual(opening, writer.closing_balance)
        self.assertEqual(writer.closing_balance, Decimal("5000.00") - 10 * 30 + 10 * 10)

    def test_messages_stream(self):
        consumed = []

        def entries():
            for entry in self._entries(100):
                consumed.append(entry)
                yield entry

        stream = Mt940Writer(make_header()).messages(entries())
        self.assertIsInstance(stream, types.GeneratorType)
        first = next(stream)
        self.assertLessEqual(len(first), 2000)
        # The first message came out after reading its own entries, the entry that
        # did not fit any more and one look-ahead: not the whole statement.
        self.assertEqual(len(consumed), first.count(":61:") + 2)
        rest = list(stream)
        self.assertGreaterEqual(len(rest), 4)
        self.assertEqual(sum(m.count(":61:") for m in [first, *rest]), 100)

    def test_split_is_exact_at_the_limit(self):
        entries = self._entries(2)
        whole, _writer = write_statement(make_header(), entries)
        # At exactly its length the statement is one message ...
        text, writer = write_statement(
            make_header(), entries, max_message_chars=len(whole)
        )
        self.assertEqual((text, writer.message_count), (whole, 1))
        # ... one character less and the last entry, with :62F: and :64:, moves on.
        writer = Mt940Writer(make_header(), max_message_chars=len(whole) - 1)
        messages = list(writer.messages(entries))
        self.assertEqual([m.count(":61:") for m in messages], [1, 1])
        self.assertTrue(all(len(m) <= len(whole) - 1 for m in messages))
        # An intermediate message has no :64:, so it needs no room for one.
        available = whole[whole.index(":64:") : whole.index("-\r\n")]
        limit = len(whole) - len(available)
        writer = Mt940Writer(make_header(), max_message_chars=limit)
        messages = list(writer.messages(self._entries(3)))
        self.assertEqual([m.count(":61:") for m in messages], [2, 1])
        self.assertEqual(len(messages[0]), limit)

    def test_smaller_message_size(self):
        writer = Mt940Writer(make_header(), max_message_chars=600)
        messages = list(writer.messages(self._entries(12)))
        self.assertTrue(all(len(message) <= 600 for message in messages))
        self.assertEqual(sum(m.count(":61:") for m in messages), 12)
        self.assertEqual(messages[-1].count(":64:"), 1)
