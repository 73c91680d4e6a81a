"""Drive the OpenG2P G2P Bridge's bank connector, unmodified, against a bank.

Runs in the connector's own virtual environment (scripts/_common.sh,
``ensure_bridge_connector_venv``), never inside Odoo. Reads JSON on stdin, writes JSON
on stdout:

- ``pay``: ``{"account_number", "currency", "total", "payments": [...]}``, each payment
  the fields of the bridge's ``DisbursementPaymentPayload`` but the block reference.
  Checks the funds, blocks them and initiates the payments as the bridge's workers do
  (with ``block_reference_no``: only initiates them again, as a retry does), through
  ``ExampleBankConnector``, which reads the bank's three URLs from the
  environment (``G2P_BRIDGE_CELERY_PRODUCERS_FUNDS_*_URL_EXAMPLE_BANK``).
- ``read``: ``{"mt940": text}``. Reads the statement the way the bridge's MT940
  processor does: the ``mt-940`` parser configured as the processor configures it,
  only ``D`` and ``RD`` entries, and the connector's ``retrieve_*`` methods for the
  disbursement id, the beneficiary and the reversal reason.
"""

import json
import sys

import mt940
from openg2p_g2p_bridge_bank_connectors.bank_connectors import ExampleBankConnector
from openg2p_g2p_bridge_bank_connectors.bank_interface import (
    DisbursementPaymentPayload,
)


def pay(request):
    connector = ExampleBankConnector()
    account, currency = request["account_number"], request["currency"]
    answers = {}
    block_reference = request.get("block_reference_no")
    if not block_reference:  # a retry of initiate_payment reuses its block
        checked = connector.check_funds(account, currency, request["total"])
        blocked = connector.block_funds(account, currency, request["total"])
        block_reference = blocked.block_reference_no
        answers = {
            "check_funds": checked.status.value,
            "block_funds": blocked.status.value,
            "block_reference_no": block_reference,
            "block_error_code": blocked.error_code,
        }
        if blocked.status.value != "FUNDS_BLOCK_SUCCESS":
            return answers  # the bridge pays nothing without a block
    paid = connector.initiate_payment(
        [
            DisbursementPaymentPayload(
                funds_blocked_reference_number=block_reference, **payment
            )
            for payment in request["payments"]
        ]
    )
    answers["initiate_payment"] = paid.status.value
    answers["initiate_error_code"] = paid.error_code
    return answers


def read(request):
    header_tags = [
        mt940.tags.AccountIdentification(),
        mt940.tags.StatementNumber(),
        mt940.tags.TransactionReferenceNumber(),
        mt940.tags.Statement(),
    ]
    statement = mt940.models.Transactions(
        processors={"pre_statement": [mt940.processors.add_currency_pre_processor("")]},
        tags={tag.id: tag for tag in header_tags},
    )
    statement.parse(request["mt940"])
    connector = ExampleBankConnector()
    entries = []
    for sequence, transaction in enumerate(statement, start=1):
        data = transaction.data
        mark = data["status"]
        if mark not in ("D", "RD"):
            continue  # the bridge reads debits and their reversals only
        narratives = data["transaction_details"].split("\n")
        entry = {
            "mark": mark,
            "entry_sequence": sequence,
            "disbursement_id": connector.retrieve_disbursement_id(
                data["bank_reference"], data["customer_reference"], narratives
            ),
            "bank_reference": data["bank_reference"],
            "amount": str(data["amount"].amount),
            "entry_date": data["entry_date"].isoformat(),
            "value_date": data["date"].isoformat(),
        }
        if mark == "D":
            entry["beneficiary"] = connector.retrieve_beneficiary_name(narratives)
        else:
            entry["reversal_reason"] = connector.retrieve_reversal_reason(narratives)
        entries.append(entry)
    return {
        "account_number": statement.data.get("account_identification", ""),
        "reference_number": statement.data.get("transaction_reference", ""),
        "statement_number": statement.data.get("statement_number", ""),
        "sequence_number": statement.data.get("sequence_number", ""),
        "entries": entries,
    }


if __name__ == "__main__":
    command = {"pay": pay, "read": read}[sys.argv[1]]
    json.dump(command(json.load(sys.stdin)), sys.stdout)
