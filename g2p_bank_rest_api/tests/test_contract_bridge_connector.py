"""The OpenG2P G2P Bridge's bank connector, unmodified, against the bank app.

The connector (PyPI ``openg2p-g2p-bridge-bank-connectors``) runs in its own virtual
environment, in a subprocess, while Odoo's test HTTP server answers; the statement the
bank writes is read back the way the bridge's MT940 processor reads it.
"""

import json
import os
import pathlib
import subprocess
from decimal import Decimal

from odoo.tests import HttpCase, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

CONNECTOR_PYTHON_VAR = "G2P_BRIDGE_CONNECTOR_PYTHON"
DRIVER = pathlib.Path(__file__).parent / "clients" / "bridge_connector_driver.py"
PARAM = "g2p_bank_simulator."
# The connector's three settings: pydantic-settings, read from the environment.
SETTINGS_PREFIX = "G2P_BRIDGE_CELERY_PRODUCERS_"
URL_SETTINGS = {
    "check_funds": SETTINGS_PREFIX + "FUNDS_AVAILABLE_CHECK_URL_EXAMPLE_BANK",
    "block_funds": SETTINGS_PREFIX + "FUNDS_BLOCK_URL_EXAMPLE_BANK",
    "initiate_payment": SETTINGS_PREFIX + "FUNDS_DISBURSEMENT_URL_EXAMPLE_BANK",
}


def disbursement(reference, amount, beneficiary_id, account, **values):
    """A payment as the bridge hands it to its connector (DisbursementPaymentPayload,
    without the block reference, which the driver adds)."""
    return {
        "disbursement_id": reference,
        "remitting_account": "BRIDGE-FUND-1",
        "remitting_account_currency": "KES",
        "payment_amount": amount,
        "beneficiary_id": beneficiary_id,
        "beneficiary_name": f"Beneficiary {beneficiary_id}",
        "beneficiary_account": account,
        "beneficiary_account_currency": "KES",
        "beneficiary_account_type": "BANK_ACCOUNT",
        "beneficiary_bank_code": "BRIDGEBANK",
        "beneficiary_branch_code": "001",
        "disbursement_narrative": "Cash transfer Nov 2026",
        "benefit_program_mnemonic": "PROGCT",
        "cycle_code_mnemonic": "CT-2026-11",
        "payment_date": "2026-11-22",
        **values,
    }


PAYMENTS = [
    # A customer of this bank, paid.
    disbursement("DISB-0001", 150.0, "BEN-001", "CUST-OK"),
    # Another bank's customer, paid through the clearing account.
    disbursement(
        "DISB-0002", 200.5, "BEN-002", "KE-OTHER-77", beneficiary_bank_code="OTHERBANK"
    ),
    # A closed account at this bank: debited, then reversed.
    disbursement("DISB-0003", 75.25, "BEN-003", "CUST-CLOSED"),
    # A mobile wallet the bank does not know: debited, then reversed.
    disbursement(
        "DISB-0004",
        24.25,
        "BEN-004",
        "GHOST-WALLET-1",
        beneficiary_account_type="MOBILE_WALLET",
        beneficiary_bank_code="",
        beneficiary_branch_code="",
        beneficiary_mobile_wallet_provider="MPESA",
        beneficiary_phone_no="+254700000004",
    ),
]


@tagged("post_install", "-at_install")
class TestBridgeConnectorContract(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        icp = cls.env["ir.config_parameter"].sudo()
        for key, value in {
            "bank_code": "BRIDGEBANK",
            "failure_rate": "0",
            "seed": "1",
            "nonexistent_accounts": "GHOST-WALLET-1",
            "statement_upload_url": "",
        }.items():
            icp.set_param(PARAM + key, value)
        kes = cls.env.ref("base.KES")
        kes.active = True
        accounts = cls.env["g2p.sim.account"].create(
            [
                {"account_number": number, "name": number, "currency_id": kes.id}
                for number in ("BRIDGE-FUND-1", "CUST-OK", "CUST-CLOSED")
            ]
        )
        cls.program = accounts[0]
        cls.program.deposit(Decimal("1000.00"), reference="BRIDGE-OPENING")
        accounts[2].state = "closed"

    def setUp(self):
        super().setUp()
        python = os.environ.get(CONNECTOR_PYTHON_VAR)
        if not python or not os.access(python, os.X_OK):
            self.fail(
                "The bridge's bank connector is not available: "
                f"{CONNECTOR_PYTHON_VAR} ({python or 'not set'}) must name the python "
                "of its virtual environment. scripts/test.sh creates it "
                "(ensure_bridge_connector_venv)."
            )
        self.python = python

    def serve_without_credentials(self):
        """The bank app at /test-bridge-bank, without credentials: the connector
        sends none. (The served app's authentication cannot change in a test: it
        reaches servers when the transaction commits.)"""
        endpoint = self.env.ref("g2p_bank_rest_api.fastapi_endpoint_bank").copy(
            {
                "name": "Bank for the bridge",
                "root_path": "/test-bridge-bank",
                "g2p_auth_method": "none",
            }
        )
        endpoint._handle_registry_sync()
        self.env.registry.clear_cache()  # the endpoint-by-path map is cached
        return f"http://127.0.0.1:{self.http_port()}/test-bridge-bank"

    def drive(self, command, request, urls=None):
        env = dict(os.environ)
        for call, setting in URL_SETTINGS.items():
            env[setting] = f"{urls}/{call}" if urls else ""
        run = subprocess.run(
            [self.python, str(DRIVER), command],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        self.assertEqual(run.returncode, 0, f"The driver failed:\n{run.stderr}")
        return json.loads(run.stdout)

    def test_check_block_initiate_then_read_the_statement_as_the_bridge(self):
        urls = self.serve_without_credentials()
        answers = self.drive(
            "pay",
            {
                "account_number": "BRIDGE-FUND-1",
                "currency": "KES",
                "total": 450.0,
                "payments": PAYMENTS,
            },
            urls,
        )
        self.assertEqual(
            {key: answers[key] for key in answers if key != "block_reference_no"},
            {
                "check_funds": "FUNDS_AVAILABLE",
                "block_funds": "FUNDS_BLOCK_SUCCESS",
                "block_error_code": "",
                "initiate_payment": "SUCCESS",
                "initiate_error_code": "",
            },
        )
        block = self.env["g2p.sim.fund.block"].search(
            [("reference", "=", answers["block_reference_no"])]
        )
        self.assertEqual(block.account_id, self.program)
        self.assertEqual(Decimal(str(block.amount)), Decimal("450.00"))
        payments = self.env["g2p.sim.payment"].search(
            [("payment_reference_number", "like", "DISB-")],
            order="payment_reference_number",
        )
        batch = payments.batch_id
        self.assertEqual(len(batch), 1, "one initiate_payment call, one batch")
        # The narratives as the bridge sends them: disbursement, program, cycle,
        # beneficiary id.
        self.assertEqual(
            [
                (p.narrative_1, p.narrative_2, p.narrative_3, p.narrative_4)
                for p in payments
            ],
            [
                ("Cash transfer Nov 2026", "PROGCT", "CT-2026-11", f"BEN-00{i}")
                for i in range(1, 5)
            ],
        )

        # The bank's back office: the batch's job, then the statement the example
        # bank produces after each batch (job bodies run directly; no runner).
        with trap_jobs():
            self.env["g2p.sim.bank"].process_batch(batch)
        statement = self.env["g2p.sim.statement"].search(
            [("account_id", "=", self.program.id)]
        )
        self.assertEqual(len(statement), 1)
        statement._job_generate()
        self.assertEqual(statement.state, "done", statement.error)

        read = self.drive("read", {"mt940": statement.mt940_text})
        self.assertEqual(
            (read["account_number"], read["reference_number"]),
            ("BRIDGE-FUND-1", statement.name),
        )
        self.assertEqual(
            (read["statement_number"], read["sequence_number"]),
            (str(statement.number), "1"),
        )
        entries = read["entries"]
        # What the bridge reconciles: one debit per payment, with its amount and the
        # beneficiary; one reversal per failed payment, with the reason.
        self.assertEqual(
            [
                (e["mark"], e["disbursement_id"], Decimal(e["amount"]))
                for e in entries
                if e["mark"] == "D"
            ],
            [
                ("D", "DISB-0001", Decimal("-150.00")),
                ("D", "DISB-0002", Decimal("-200.50")),
                ("D", "DISB-0003", Decimal("-75.25")),
                ("D", "DISB-0004", Decimal("-24.25")),
            ],
        )
        self.assertEqual(
            [e["beneficiary"] for e in entries if e["mark"] == "D"],
            ["BEN-001", "BEN-002", "BEN-003", "BEN-004"],
        )
        # The MT940 character set has no "_": the bank writes the reason with ".".
        self.assertEqual(
            [
                (e["disbursement_id"], Decimal(e["amount"]), e["reversal_reason"])
                for e in entries
                if e["mark"] == "RD"
            ],
            [
                ("DISB-0003", Decimal("75.25"), "ACCOUNT.CLOSED"),
                ("DISB-0004", Decimal("24.25"), "ACCOUNT.NOT.FOUND"),
            ],
        )
        # Bank references are the bank's own, unique, and name its ledger entries.
        references = [e["bank_reference"] for e in entries]
        self.assertEqual(len(set(references)), len(references))
        by_payment = {p.payment_reference_number: p.bank_reference for p in payments}
        for entry in entries:
            if entry["mark"] == "D":
                self.assertEqual(
                    entry["bank_reference"], by_payment[entry["disbursement_id"]]
                )
        # And the money: the program paid what did not fail.
        self.program.invalidate_recordset()
        self.assertEqual(
            Decimal(str(self.program.book_balance)),
            Decimal("1000.00") - Decimal("350.50"),
        )

    def test_a_retried_initiate_is_success_and_pays_nothing_twice(self):
        """The bridge initiates again when it did not get the answer: same payments,
        same block."""
        urls = self.serve_without_credentials()
        request = {
            "account_number": "BRIDGE-FUND-1",
            "currency": "KES",
            "total": 150.0,
            "payments": PAYMENTS[:1],
        }
        first = self.drive("pay", request, urls)
        self.assertEqual(first["initiate_payment"], "SUCCESS", first)
        retry = {"block_reference_no": first["block_reference_no"], **request}
        self.assertEqual(
            self.drive("pay", retry, urls),
            {"initiate_payment": "SUCCESS", "initiate_error_code": ""},
        )
        payments = self.env["g2p.sim.payment"].search(
            [("payment_reference_number", "=", "DISB-0001")]
        )
        self.assertEqual(len(payments), 1)
        self.assertEqual(len(payments.batch_id), 1)

    def test_funds_not_available_blocks_nothing(self):
        urls = self.serve_without_credentials()
        answers = self.drive(
            "pay",
            {
                "account_number": "BRIDGE-FUND-1",
                "currency": "KES",
                "total": 1000.01,
                "payments": PAYMENTS[:1],
            },
            urls,
        )
        self.assertEqual(
            answers,
            {
                "check_funds": "FUNDS_NOT_AVAILABLE",
                "block_funds": "FUNDS_BLOCK_FAILURE",
                "block_reference_no": "",
                "block_error_code": "INSUFFICIENT_FUNDS",
            },
        )
        self.assertFalse(
            self.env["g2p.sim.fund.block"].search(
                [("account_id", "=", self.program.id)]
            )
        )
