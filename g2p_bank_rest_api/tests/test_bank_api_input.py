import json
import re
import time
from decimal import Decimal

from fastapi import FastAPI

from odoo.tests import tagged

from ..routers.bank import bank_router
from ..routers.registry import registry_router
from .common import BankApiCase


def _input_strings(document):
    """``(where, schema)`` of every string a client sends to the app of ``document``
    (OpenAPI): request bodies and parameters, references followed."""
    schemas = document["components"]["schemas"]
    seen, found = set(), []

    def walk(schema, where):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name], name)
            return
        if any(sub.get("type") == "number" for sub in schema.get("anyOf", [])):
            return  # an amount: a decimal (TestExactAmounts)
        if schema.get("type") == "string" and "enum" not in schema:
            found.append((where, schema))
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key, []):
                walk(sub, where)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}")
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]")

    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                walk(parameter["schema"], f"{path} {parameter['name']}")
            body = operation.get("requestBody", {}).get("content", {})
            for content in body.values():
                walk(content["schema"], path)
    return found


@tagged("post_install", "-at_install")
class TestExactAmounts(BankApiCase):
    """JSON numbers used to be parsed as floats: 100000000000000.01 was read as
    100000000000000.02, and an amount with 34 decimals passed as 0.1."""

    def test_json_numbers_are_read_exactly(self):
        # Every amount the bank accepts (below 10**12 for 2 decimals: an MT940 amount
        # is 15 characters) survives a float; a larger one shows the difference in
        # the answer, which names the amount as the client wrote it.
        response = self.post_raw(
            "/block_funds",
            b'{"account_number": "TEST-FUND-1", "currency": "KES",'
            b' "amount": 100000000000000.01}',
        )
        self.assertEqual(response.status_code, 422, response.text)
        detail = response.json()["detail"]
        self.assertEqual(detail["code"], "INVALID_AMOUNT", response.text)
        self.assertIn("100000000000000.01 ", detail["message"])
        self.assertBalances(10000, 0, 10000)

    def test_json_numbers_with_too_many_decimals_are_422(self):
        for path, body in (
            (
                "/block_funds",
                (
                    b'{"account_number": "TEST-FUND-1", "currency": "KES",'
                    b' "amount": 0.1000000000000000055511151231257827}'
                ),
            ),
            (
                "/check_funds",
                (
                    b'{"account_number": "TEST-FUND-1", "account_currency": "KES",'
                    b' "total_funds_needed": 10000.000000000001}'
                ),
            ),
        ):
            with self.subTest(path):
                response = self.post_raw(path, body)
                self.assertEqual(response.status_code, 422, response.text)
        self.assertBalances(10000, 0, 10000)

    def test_payment_amount_is_read_exactly(self):
        block = self.block("500")
        payment = self.payment("EXACT-1", block)
        del payment["payment_amount"]
        body = json.dumps([payment])[:-2] + ', "payment_amount": 100.000000000000001}]'
        response = self.post_raw("/initiate_payment", body.encode())
        self.assertEqual(response.status_code, 422, response.text)
        self.assertFalse(
            self.env["g2p.sim.payment"].search(
                [("payment_reference_number", "=", "EXACT-1")]
            )
        )

    def test_amount_strings_are_plain_decimals(self):
        for amount in ("1_000", " 5 ", "1e3", "5 000", "0x10"):
            with self.subTest(amount):
                response = self.post(
                    "/block_funds",
                    {
                        "account_number": "TEST-FUND-1",
                        "currency": "KES",
                        "amount": amount,
                    },
                )
                self.assertEqual(response.status_code, 422, response.text)
                self.assertEqual(
                    response.json()["detail"][0]["loc"], ["body", "amount"]
                )
        self.assertBalances(10000, 0, 10000)

    def test_release_answers_the_exact_amount_with_the_currency_decimals(self):
        # The largest balance a statement carries (the account holds 10,000).
        self.account.deposit(Decimal("999999989999.99"), reference="TEST-BIG")
        for amount, released in (
            ("999999999999.99", "999999999999.99"),
            ("50", "50.00"),
        ):
            with self.subTest(amount):
                reference = self.block(amount)
                body = self.post("/release_block", {"block_reference_no": reference})
                self.assertEqual(body.json()["amount_released"], released, body.text)

    def test_batch_totals_have_the_currency_decimals(self):
        block = self.block("300")
        batch_id = self.post(
            "/initiate_payment", [self.payment("DEC-1", block, amount="50")]
        ).json()["batch_id"]
        pending = self.get(f"/batches/{batch_id}").json()
        self.assertEqual(
            (
                pending["amount_total"],
                pending["amount_success"],
                pending["amount_failed"],
            ),
            ("50.00", "0.00", "0.00"),
        )
        batch = self.env["g2p.sim.payment.batch"].search([("name", "=", batch_id)])
        self.env["g2p.sim.bank"].process_batch(batch)
        done = self.get(f"/batches/{batch_id}").json()
        self.assertEqual(
            (done["amount_success"], done["amount_failed"]), ("50.00", "0.00")
        )


@tagged("post_install", "-at_install")
class TestOneLineText(BankApiCase):
    def test_line_breaks_and_control_characters_are_422_naming_the_field(self):
        block = self.block("300")
        cases = [
            ("narrative_1", "Cash\ntransfer"),
            ("narrative_4", "BENEF\r1"),
            ("beneficiary_name", "Jane\tDoe"),
            ("payment_reference_number", "PAY\u2028X"),
            ("beneficiary_account", "BEN\x85X"),
        ]
        for n, (field, value) in enumerate(cases):
            with self.subTest(field):
                payment = self.payment(f"LINE-{n}", block, **{field: value})
                response = self.post("/initiate_payment", [payment])
                self.assertEqual(response.status_code, 422, response.text)
                self.assertEqual(
                    response.json()["detail"][0]["loc"], ["body", 0, field]
                )
        self.assertFalse(self.env["g2p.sim.payment"].search([]))

    def test_nul_in_block_reference_is_422_not_500(self):
        response = self.post(
            "/block_funds",
            {
                "account_number": "TEST-FUND-1",
                "currency": "KES",
                "amount": "10.00",
                "block_reference_no": "RVAPI\u0000X",
            },
        )
        self.assertEqual(response.status_code, 422, response.text)
        error = response.json()["detail"][0]
        self.assertEqual(error["loc"], ["body", "block_reference_no"])
        # In words, not as the regular expression.
        self.assertIn("one line of printable characters", error["msg"])
        self.assertBalances(10000, 0, 10000)

    def test_every_text_a_client_sends_is_one_line(self):
        """Every string of both apps' requests (bodies and parameters) has a pattern,
        and it refuses a line break and a NUL."""
        for router in (bank_router, registry_router):
            app = FastAPI()
            app.include_router(router)
            strings = _input_strings(app.openapi())
            self.assertGreater(len(strings), 10)
            for where, schema in strings:
                with self.subTest(where):
                    self.assertIn("pattern", schema)
                    for text in ("a\nb", "a\x00b"):
                        self.assertIsNone(re.search(schema["pattern"], text))

    def test_references_with_a_slash_can_be_read_back(self):
        block = self.block("300")
        self.post("/initiate_payment", [self.payment("PB/2026/1", block)])
        response = self.get("/payments/PB%2F2026%2F1")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["payment_reference_number"], "PB/2026/1")
        self.assertEqual(self.get("/payments/PB/2026/1").status_code, 200)


@tagged("post_install", "-at_install")
class TestBoundedErrors(BankApiCase):
    def test_a_422_is_bounded_and_says_where(self):
        """Each missing field echoed its whole item: a 2 MB request answered 22 MB."""
        response = self.post("/initiate_payment", [{"x": "y" * 1000}] * 2000)
        self.assertEqual(response.status_code, 422)
        self.assertLess(len(response.content), 20_000)
        errors = response.json()["detail"]
        self.assertEqual(errors[0]["loc"], ["body", 0, "payment_reference_number"])
        self.assertEqual(errors[0]["type"], "missing")
        self.assertEqual(errors[-1]["type"], "too_many_errors")
        self.assertRegex(errors[-1]["msg"], r"^\d+ more errors not listed")
        self.assertEqual(len(errors), 21)

    def test_long_text_echoed_is_cut(self):
        response = self.post(
            "/check_funds",
            {
                "account_number": "X\n" * 5000,
                "account_currency": "KES",
                "total_funds_needed": 1,
            },
        )
        self.assertEqual(response.status_code, 422)
        self.assertLess(len(response.content), 2000)
        self.assertEqual(
            response.json()["detail"][0]["loc"], ["body", "account_number"]
        )


@tagged("post_install", "-at_install")
class TestFailedStatement(BankApiCase):
    def test_failed_statement_says_to_request_a_new_one(self):
        statement_id = self.post(
            "/generate_account_statement", {"program_account_number": "TEST-FUND-1"}
        ).json()["account_statement_id"]
        statement = self.env["g2p.sim.statement"].search([("name", "=", statement_id)])
        statement.write({"state": "failed", "error": "test"})
        response = self.get(f"/statements/{statement_id}/mt940")
        self.assertEqual(response.status_code, 409, response.text)
        message = response.json()["detail"]["message"]
        self.assertIn("failed", message)
        self.assertIn("new statement", message)
        self.assertNotIn("once it is done", message)


@tagged("post_install", "-at_install")
class TestBankCodes(BankApiCase):
    def test_bank_and_branch_codes_are_required_as_in_the_contract(self):
        """The example bank and the bridge's connector have them as required
        strings; a wallet payment sends them empty."""
        block = self.block("300")
        for field in ("beneficiary_bank_code", "beneficiary_branch_code"):
            with self.subTest(field):
                payment = self.payment("CODE-1", block)
                del payment[field]
                response = self.post("/initiate_payment", [payment])
                self.assertEqual(response.status_code, 422, response.text)
                self.assertEqual(
                    response.json()["detail"][0]["loc"], ["body", 0, field]
                )
        wallet = self.payment(
            "CODE-2",
            block,
            beneficiary_account_type="MOBILE_WALLET",
            beneficiary_bank_code="",
            beneficiary_branch_code="",
        )
        response = self.post("/initiate_payment", [wallet])
        self.assertEqual(response.json()["status"], "success", response.text)


def _strict_json(response):
    """The answer's JSON, refusing NaN and Infinity (they are not JSON)."""

    def refuse(constant):
        raise AssertionError(f"{constant} in {response.text[:200]}")

    return json.loads(response.content, parse_constant=refuse)


@tagged("post_install", "-at_install")
class TestJsonNumbers(BankApiCase):
    """A number such as 1e999999 took 26 s of CPU and answered 500: the 422 echoed
    it as an integer of a million digits. NaN was echoed as NaN (not JSON)."""

    def check_funds_with(self, number):
        return self.post_raw(
            "/check_funds",
            b'{"account_number": "TEST-FUND-1", "account_currency": "KES",'
            b' "total_funds_needed": ' + number + b"}",
        )

    def test_huge_numbers_are_refused_quickly_and_say_why(self):
        for number in (
            b"1e999999999",
            b"1e999999",
            b"1e4400",
            b"-1e5000",
            b"1e999999999999999999999",
            b"1E100",
            b"1" * 41 + b".5",
            b"9" * 4000 + b".5",
            b"1" * 4301,
        ):
            with self.subTest(number[:20]):
                started = time.monotonic()
                response = self.check_funds_with(number)
                self.assertLess(time.monotonic() - started, 1)
                self.assertEqual(response.status_code, 422, response.text[:300])
                self.assertLess(len(response.content), 1000)
                error = _strict_json(response)["detail"][0]
                self.assertIn("number", error["msg"])
                self.assertIn(number[:10].decode(), error["msg"])
        self.assertBalances(10000, 0, 10000)

    def test_numbers_within_the_bounds_still_reach_validation(self):
        response = self.check_funds_with(b"1e99")
        self.assertEqual(response.status_code, 422, response.text)
        error = _strict_json(response)["detail"][0]
        self.assertEqual(error["loc"], ["body", "total_funds_needed"])
        self.assertLess(len(response.content), 1000)
        self.assertEqual(self.check_funds_with(b"5e1").json()["status"], "success")

    def test_a_top_level_number_is_not_echoed_as_a_long_integer(self):
        response = self.post_raw("/check_funds", b"1e40")
        self.assertEqual(response.status_code, 422, response.text)
        self.assertLess(len(response.content), 1000)
        for error in _strict_json(response)["detail"]:
            self.assertNotIsInstance(error.get("input"), int | float)

    def test_nan_and_infinity_are_not_json(self):
        for constant in (b"NaN", b"Infinity", b"-Infinity"):
            with self.subTest(constant):
                response = self.check_funds_with(constant)
                self.assertEqual(response.status_code, 422, response.text)
                error = _strict_json(response)["detail"][0]
                self.assertEqual(error["type"], "json_invalid")
                self.assertIn(constant.decode(), error["msg"])
            with self.subTest(constant, where="account_number"):
                response = self.post_raw(
                    "/check_funds", b'{"account_number": ' + constant + b"}"
                )
                self.assertEqual(response.status_code, 422, response.text)
                _strict_json(response)


@tagged("post_install", "-at_install")
class TestSurrogates(BankApiCase):
    """A lone UTF-16 surrogate (valid JSON, not a character) answered 500: the 422
    echoed it and the answer could not be encoded."""

    def test_a_lone_surrogate_is_422_naming_the_field(self):
        cases = (
            ("/release_block", b'{"block_reference_no": "X\\ud800"}', None),
            (
                "/block_funds",
                (
                    b'{"account_number": "TEST-FUND-1", "currency": "KES",'
                    b' "amount": "10", "block_reference_no": "X\\udfff"}'
                ),
                "block_reference_no",
            ),
            (
                "/check_funds",
                (
                    b'{"account_number": "TEST\\ud800", "account_currency": "KES",'
                    b' "total_funds_needed": 1}'
                ),
                "account_number",
            ),
            (
                "/block_funds",
                (
                    b'{"account_number": "TEST-FUND-1", "currency": "K\\ud800S",'
                    b' "amount": "10"}'
                ),
                "currency",
            ),
            (
                "/block_funds",
                (
                    b'{"account_number": "TEST-FUND-1", "currency": "KES",'
                    b' "amount": "1\\ud800"}'
                ),
                "amount",
            ),
            (
                "/generate_account_statement",
                b'{"program_account_number": "\\ud800"}',
                "program_account_number",
            ),
        )
        for path, body, field in cases:
            with self.subTest(path, field=field):
                response = self.post_raw(path, body)
                self.assertEqual(response.status_code, 422, response.text)
                error = response.json()["detail"][0]
                self.assertEqual(error["loc"], ["body", field or "block_reference_no"])
        self.assertBalances(10000, 0, 10000)

    def test_a_surrogate_in_a_payment_is_422(self):
        block = self.block("300")
        payment = self.payment("SURR-1", block)
        body = json.dumps([payment]).replace("Jane Doe", "Jane \\udc00")
        response = self.post_raw("/initiate_payment", body.encode())
        self.assertEqual(response.status_code, 422, response.text)
        self.assertEqual(
            response.json()["detail"][0]["loc"], ["body", 0, "beneficiary_name"]
        )


@tagged("post_install", "-at_install")
class TestNothingStrippedButSpaces(BankApiCase):
    """Control characters and line separators at the end of a text were stripped
    (a block answered success with the reference "X"), not refused."""

    def test_control_characters_at_either_end_are_422(self):
        for value in ("X\u2028", "Y\t\n", "\x85Z", "W\r", " V\u2029 "):
            with self.subTest(value):
                response = self.post(
                    "/block_funds",
                    {
                        "account_number": "TEST-FUND-1",
                        "currency": "KES",
                        "amount": "10",
                        "block_reference_no": value,
                    },
                )
                self.assertEqual(response.status_code, 422, response.text)
                error = response.json()["detail"][0]
                self.assertEqual(error["loc"], ["body", "block_reference_no"])
                self.assertIn("one line of printable characters", error["msg"])
        response = self.post("/release_block", {"block_reference_no": "Y\t\n"})
        self.assertEqual(response.status_code, 422, response.text)
        self.assertBalances(10000, 0, 10000)

    def test_a_currency_with_a_line_break_is_422(self):
        response = self.post(
            "/check_funds",
            {
                "account_number": "TEST-FUND-1",
                "account_currency": "KES\n",
                "total_funds_needed": 1,
            },
        )
        self.assertEqual(response.status_code, 422, response.text)

    def test_payment_texts(self):
        block = self.block("300")
        payment = self.payment("STRIP-1", block, narrative_1="Cash\u2028")
        response = self.post("/initiate_payment", [payment])
        self.assertEqual(response.status_code, 422, response.text)
        self.assertEqual(
            response.json()["detail"][0]["loc"], ["body", 0, "narrative_1"]
        )
        self.assertFalse(self.env["g2p.sim.payment"].search([]))

    def test_spaces_around_a_text_are_still_removed(self):
        response = self.post(
            "/block_funds",
            {
                "account_number": " TEST-FUND-1 ",
                "currency": " KES",
                "amount": "10",
                "block_reference_no": " SPACED ",
            },
        )
        self.assertEqual(response.json()["status"], "success", response.text)
        self.assertEqual(response.json()["block_reference_no"], "SPACED")
        response = self.post("/block_funds", {"block_reference_no": "  "})
        self.assertEqual(response.status_code, 422, response.text)
