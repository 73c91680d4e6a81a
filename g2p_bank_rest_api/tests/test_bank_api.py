import base64

from odoo.tests import tagged

from ..dependencies import env_from_basic_auth, g2p_authenticated_env
from .common import BankApiCase


@tagged("post_install", "-at_install")
class TestCheckFunds(BankApiCase):
    def check(self, **overrides):
        payload = {
            "account_number": "TEST-FUND-1",
            "account_currency": "KES",
            "total_funds_needed": 2500.5,
        }
        payload.update(overrides)
        return self.post("/check_funds", payload)

    def test_available(self):
        response = self.check()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(),
            {
                "status": "success",
                "account_number": "TEST-FUND-1",
                "has_sufficient_funds": True,
                "error_code": None,
                "error_message": "",
            },
        )

    def test_exactly_the_balance_is_available(self):
        self.assertEqual(
            self.check(total_funds_needed="10000.00").json()["status"], "success"
        )

    def test_insufficient_is_failed_never_success(self):
        body = self.check(total_funds_needed="10000.01").json()
        self.assertEqual(body["status"], "failed")
        self.assertFalse(body["has_sufficient_funds"])
        self.assertEqual(body["error_code"], "INSUFFICIENT_FUNDS")

    def test_unknown_account(self):
        body = self.check(account_number="NOPE").json()
        self.assertEqual(
            (body["status"], body["error_code"]), ("failed", "ACCOUNT_NOT_FOUND")
        )
        self.assertIn("NOPE", body["error_message"])

    def test_currency_mismatch(self):
        body = self.check(account_currency="USD").json()
        self.assertEqual(
            (body["status"], body["error_code"]), ("failed", "CURRENCY_MISMATCH")
        )

    def test_malformed_requests_are_422_with_what_is_wrong(self):
        cases = {
            "missing field": {
                "account_number": "TEST-FUND-1",
                "account_currency": "KES",
            },
            "negative amount": {
                "account_number": "TEST-FUND-1",
                "account_currency": "KES",
                "total_funds_needed": -5,
            },
            "zero amount": {
                "account_number": "TEST-FUND-1",
                "account_currency": "KES",
                "total_funds_needed": 0,
            },
            "wrong type": {
                "account_number": "TEST-FUND-1",
                "account_currency": "KES",
                "total_funds_needed": "a lot",
            },
            "unknown currency code": {
                "account_number": "TEST-FUND-1",
                "account_currency": "XYZ",
                "total_funds_needed": 1,
            },
            "oversized account number": {
                "account_number": "9" * 500,
                "account_currency": "KES",
                "total_funds_needed": 1,
            },
        }
        for case, payload in cases.items():
            with self.subTest(case):
                response = self.post("/check_funds", payload)
                self.assertEqual(response.status_code, 422, response.text)
                self.assertTrue(response.json()["detail"])

    def test_over_precise_amount_is_422(self):
        response = self.check(total_funds_needed="1.001")
        self.assertEqual(response.status_code, 422, response.text)
        self.assertEqual(response.json()["detail"]["code"], "INVALID_AMOUNT")


@tagged("post_install", "-at_install")
class TestBlockFunds(BankApiCase):
    def test_block_moves_available_to_blocked(self):
        reference = self.block("2500.50")
        self.assertTrue(reference)
        self.assertLessEqual(len(reference), 16)
        self.assertBalances(10000, 2500.5, 7499.5)

    def test_insufficient_changes_nothing(self):
        response = self.post(
            "/block_funds",
            {"account_number": "TEST-FUND-1", "currency": "KES", "amount": "10000.01"},
        )
        self.assertEqual(
            response.json(),
            {
                "status": "failed",
                "block_reference_no": "",
                "error_code": "INSUFFICIENT_FUNDS",
                "error_message": response.json()["error_message"],
            },
        )
        self.assertTrue(response.json()["error_message"])
        self.assertBalances(10000, 0, 10000)
        self.assertFalse(
            self.env["g2p.sim.fund.block"].search(
                [("account_id", "=", self.account.id)]
            )
        )

    def test_block_reference_makes_a_retry_harmless(self):
        """A client's own block reference (our extension) is an idempotency key: the
        retry of a call whose answer was lost blocks nothing more."""
        payload = {
            "account_number": "TEST-FUND-1",
            "currency": "KES",
            "amount": "1200.00",
            "block_reference_no": "PB/TEST/0001",
        }
        first = self.post("/block_funds", payload).json()
        retry = self.post("/block_funds", payload).json()
        self.assertEqual(first["status"], "success", first)
        self.assertEqual(first["block_reference_no"], "PB/TEST/0001")
        self.assertEqual(retry, first)
        self.assertBalances(10000, 1200, 8800)
        other = self.post("/block_funds", dict(payload, amount="5")).json()
        self.assertEqual(
            (other["status"], other["error_code"]), ("failed", "DUPLICATE_REFERENCE")
        )
        self.assertBalances(10000, 1200, 8800)
        too_long = self.post("/block_funds", dict(payload, block_reference_no="X" * 17))
        self.assertEqual(too_long.status_code, 422, too_long.text)
        self.assertBalances(10000, 1200, 8800)

    def test_release_returns_the_remaining_amount(self):
        reference = self.block("300")
        body = self.post("/release_block", {"block_reference_no": reference}).json()
        self.assertEqual(body["status"], "success", body)
        self.assertEqual(float(body["amount_released"]), 300)
        self.assertBalances(10000, 0, 10000)
        again = self.post("/release_block", {"block_reference_no": reference}).json()
        self.assertEqual(
            (again["status"], again["error_code"]), ("failed", "BLOCK_NOT_ACTIVE")
        )
        self.assertBalances(10000, 0, 10000)

    def test_release_unknown_block(self):
        body = self.post("/release_block", {"block_reference_no": "NOPE"}).json()
        self.assertEqual(
            (body["status"], body["error_code"]), ("failed", "BLOCK_NOT_FOUND")
        )


@tagged("post_install", "-at_install")
class TestInitiatePayment(BankApiCase):
    def payments_of(self, block):
        return self.env["g2p.sim.payment"].search([("block_id.reference", "=", block)])

    def test_one_call_is_one_batch(self):
        block = self.block("1000")
        response = self.post(
            "/initiate_payment",
            [self.payment("P-1", block), self.payment("P-2", block, amount=250.25)],
        )
        body = response.json()
        self.assertEqual(body["status"], "success", body)
        batch = self.env["g2p.sim.payment.batch"].search(
            [("name", "=", body["batch_id"])]
        )
        self.assertEqual(len(batch.payment_ids), 2)
        self.assertEqual(
            sorted(batch.payment_ids.mapped("payment_amount")), [100.0, 250.25]
        )

    def test_full_replay_answers_success_and_changes_nothing(self):
        block = self.block("1000")
        calls = [self.payment("R-1", block), self.payment("R-2", block)]
        first = self.post("/initiate_payment", calls).json()
        replay = self.post("/initiate_payment", calls).json()
        self.assertEqual(replay["status"], "success", replay)
        self.assertEqual(replay["batch_id"], first["batch_id"])
        self.assertEqual(len(self.payments_of(block)), 2)

    def test_mixed_new_and_known_references_are_refused_whole(self):
        block = self.block("1000")
        self.post("/initiate_payment", [self.payment("M-1", block)])
        body = self.post(
            "/initiate_payment",
            [self.payment("M-1", block), self.payment("M-2", block)],
        ).json()
        self.assertEqual(
            (body["status"], body["error_code"]), ("failed", "DUPLICATE_REFERENCE")
        )
        self.assertIn("M-1", body["error_message"])
        self.assertEqual(
            self.payments_of(block).mapped("payment_reference_number"), ["M-1"]
        )

    def test_more_than_the_block_is_refused(self):
        block = self.block("150")
        body = self.post(
            "/initiate_payment",
            [self.payment("B-1", block), self.payment("B-2", block)],
        ).json()
        self.assertEqual(
            (body["status"], body["error_code"]), ("failed", "BLOCK_EXCEEDED")
        )
        self.assertFalse(self.payments_of(block))

    def test_unknown_block(self):
        body = self.post("/initiate_payment", [self.payment("U-1", "NOPE")]).json()
        self.assertEqual(
            (body["status"], body["error_code"]), ("failed", "BLOCK_NOT_FOUND")
        )

    def test_malformed_lists_are_422(self):
        block = self.block("1000")
        cases = {
            "empty list": [],
            "not a list": self.payment("X-1", block),
            "unknown account type": [
                self.payment("X-2", block, beneficiary_account_type="CHEQUE")
            ],
            "negative amount": [self.payment("X-3", block, amount=-1)],
            "missing reference": [
                {
                    k: v
                    for k, v in self.payment("X-4", block).items()
                    if k != "payment_reference_number"
                }
            ],
        }
        for case, payload in cases.items():
            with self.subTest(case):
                response = self.post("/initiate_payment", payload)
                self.assertEqual(response.status_code, 422, response.text)
        self.assertFalse(self.payments_of(block))

    def test_same_reference_twice_in_one_call_is_422(self):
        block = self.block("1000")
        response = self.post(
            "/initiate_payment",
            [self.payment("D-1", block), self.payment("D-1", block)],
        )
        self.assertEqual(response.status_code, 422, response.text)
        self.assertEqual(response.json()["detail"]["code"], "INVALID_REQUEST")
        self.assertFalse(self.payments_of(block))


@tagged("post_install", "-at_install")
class TestStatementAndAccess(BankApiCase):
    def test_generate_statement(self):
        body = self.post(
            "/generate_account_statement", {"program_account_number": "TEST-FUND-1"}
        ).json()
        self.assertEqual(body["status"], "success", body)
        statement = self.env["g2p.sim.statement"].search(
            [("name", "=", body["account_statement_id"])]
        )
        self.assertEqual(statement.account_id, self.account)

    def test_generate_statement_unknown_account(self):
        body = self.post(
            "/generate_account_statement", {"program_account_number": "NOPE"}
        ).json()
        self.assertEqual(
            (body["status"], body["error_code"]), ("failed", "ACCOUNT_NOT_FOUND")
        )

    def test_user_without_the_group_is_403(self):
        outsider = self.env["res.users"].create(
            {"name": "Outsider", "login": "test_outsider", "groups_id": []}
        )
        response = self.post(
            "/check_funds",
            {
                "account_number": "TEST-FUND-1",
                "account_currency": "KES",
                "total_funds_needed": 1,
            },
            dependency_overrides={
                g2p_authenticated_env: lambda: self.env(user=outsider)
            },
        )
        self.assertEqual(response.status_code, 403, response.text)
        self.assertEqual(response.json()["detail"]["code"], "FORBIDDEN")

    def test_http_basic_authenticates_odoo_users(self):
        """Basic auth checks the login and password (Odoo's own authentication, which
        reads committed users: the admin of the test database) and then the group."""
        overrides = {g2p_authenticated_env: env_from_basic_auth}
        payload = {
            "account_number": "TEST-FUND-1",
            "account_currency": "KES",
            "total_funds_needed": 1,
        }
        for password, expected in (("admin", 403), ("wrong", 401)):
            with (
                self.subTest(password=password),
                self._create_test_client(
                    raise_server_exceptions=False, dependency_overrides=overrides
                ) as client,
            ):
                token = base64.b64encode(f"admin:{password}".encode()).decode()
                response = client.post(
                    "/check_funds",
                    json=payload,
                    headers={"Authorization": f"Basic {token}"},
                )
                self.assertEqual(response.status_code, expected, response.text)


@tagged("post_install", "-at_install")
class TestStatusReads(BankApiCase):
    def test_balance_is_exact(self):
        self.block("2500.50")
        body = self.get("/accounts/TEST-FUND-1/balance").json()
        self.assertEqual(
            body,
            {
                "account_number": "TEST-FUND-1",
                "currency": "KES",
                "book_balance": "10000.00",
                "blocked_amount": "2500.50",
                "available_balance": "7499.50",
            },
        )

    def test_payment_and_batch_status_follow_processing(self):
        block = self.block("300")
        batch_id = self.post(
            "/initiate_payment",
            [self.payment("S-1", block), self.payment("S-2", block, amount="50.25")],
        ).json()["batch_id"]
        self.assertEqual(self.get("/payments/S-1").json()["status"], "pending")
        pending = self.get(f"/batches/{batch_id}").json()
        self.assertEqual((pending["state"], pending["payment_count"]), ("pending", 2))
        self.assertEqual(pending["amount_total"], "150.25")
        batch = self.env["g2p.sim.payment.batch"].search([("name", "=", batch_id)])
        self.env["g2p.sim.bank"].process_batch(batch)
        paid = self.get("/payments/S-1").json()
        self.assertEqual((paid["status"], paid["batch_id"]), ("success", batch_id))
        self.assertTrue(paid["bank_reference"])
        done = self.get(f"/batches/{batch_id}").json()
        self.assertEqual(
            (done["state"], done["success_count"], done["amount_success"]),
            ("done", 2, "150.25"),
        )

    def test_statement_status_and_mt940_download(self):
        statement_id = self.post(
            "/generate_account_statement", {"program_account_number": "TEST-FUND-1"}
        ).json()["account_statement_id"]
        self.assertEqual(
            self.get(f"/statements/{statement_id}").json()["state"], "pending"
        )
        early = self.get(f"/statements/{statement_id}/mt940")
        self.assertEqual(early.status_code, 409, early.text)
        self.assertEqual(early.json()["detail"]["code"], "STATEMENT_NOT_READY")
        statement = self.env["g2p.sim.statement"].search([("name", "=", statement_id)])
        statement._job_generate()
        status = self.get(f"/statements/{statement_id}").json()
        self.assertEqual((status["state"], status["entry_count"]), ("done", 1))
        self.assertEqual(status["closing_balance"], "10000.00")
        mt940 = self.get(f"/statements/{statement_id}/mt940")
        self.assertEqual(mt940.status_code, 200)
        self.assertTrue(mt940.headers["content-type"].startswith("text/plain"))
        self.assertIn(":25:TEST-FUND-1\r\n", mt940.text)
        self.assertTrue(mt940.text.endswith("-\r\n"))

    def test_unknown_objects_are_404_with_a_code(self):
        for path, code in (
            ("/statements/NOPE", "STATEMENT_NOT_FOUND"),
            ("/statements/NOPE/mt940", "STATEMENT_NOT_FOUND"),
            ("/payments/NOPE", "PAYMENT_NOT_FOUND"),
            ("/batches/NOPE", "BATCH_NOT_FOUND"),
            ("/accounts/NOPE/balance", "ACCOUNT_NOT_FOUND"),
        ):
            with self.subTest(path):
                response = self.get(path)
                self.assertEqual(response.status_code, 404, response.text)
                self.assertEqual(response.json()["detail"]["code"], code)
