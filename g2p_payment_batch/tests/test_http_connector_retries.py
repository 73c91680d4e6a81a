import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo.tests import TransactionCase, tagged

from ..models.g2p_bank_connector import G2PBankConnectorError


class FlakyBank(BaseHTTPRequestHandler):
    """A real HTTP server that fails the first ``failures`` requests with 503, then
    answers check_funds with success: a bank behind an overloaded gateway."""

    failures = 0
    bodies = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(json.loads(body))
        if len(self.bodies) <= self.failures:
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"Service Unavailable")
            return
        answer = json.dumps(
            {"status": "success", "account_number": "F-1", "has_sufficient_funds": True}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestHttpConnectorRetries(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyBank)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.server.server_close)
        cls.addClassCleanup(cls.server.shutdown)
        cls.connector = cls.env["g2p.bank.connector"].create(
            {
                "name": "Flaky bank",
                "connector_type": "http",
                "base_url": f"http://127.0.0.1:{cls.server.server_port}",
                "timeout": 5,
                "retries": 2,
            }
        )

    def setUp(self):
        super().setUp()
        FlakyBank.bodies = []

    def test_5xx_answers_are_retried(self):
        FlakyBank.failures = 2
        self.assertTrue(self.connector.check_funds("F-1", "KES", Decimal("10.05")))
        self.assertEqual(len(FlakyBank.bodies), 3)
        # The same exact request each time (amounts never through float).
        expected = {
            "account_number": "F-1",
            "account_currency": "KES",
            "total_funds_needed": 10.05,
        }
        self.assertEqual(FlakyBank.bodies, [expected] * 3)

    def test_retries_are_bounded_with_a_clear_error(self):
        FlakyBank.failures = 10
        with self.assertRaises(G2PBankConnectorError) as caught:
            self.connector.check_funds("F-1", "KES", Decimal(1))
        self.assertEqual(caught.exception.code, "UNREACHABLE")
        self.assertIn("after 3 attempts", str(caught.exception))
        self.assertIn("HTTP 503", str(caught.exception))
        self.assertEqual(len(FlakyBank.bodies), 3)
