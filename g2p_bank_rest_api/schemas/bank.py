"""Wire schemas of the bank app: the example-bank contract, field for field.

Plain pydantic models (not extendable): the contract fixes the wire format. Unknown
keys are ignored (the OpenG2P bridge sends ``active``); amounts are ``Decimal``.
"""

import re
from decimal import Decimal
from typing import Annotated, Literal, NotRequired

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    with_config,
)
from typing_extensions import TypedDict

from .registry import OneLine

#: Payments one initiate_payment call may carry (a larger batch is split by the client).
MAX_PAYMENTS_PER_CALL = 50_000


#: ISO 4217 codes, as a set: checked twice per payment, 20,000 times in a large request.
ISO_CURRENCIES = frozenset(currency.alpha_3 for currency in pycountry.currencies)


def _iso_currency(code: str) -> str:
    if code not in ISO_CURRENCIES:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


Currency = Annotated[
    str,
    OneLine(3, 3, pattern="^[A-Z]{3}$"),
    Field(examples=["KES"]),
    AfterValidator(_iso_currency),
]
#: An amount given as a string: digits with an optional sign and point, as the
#: OpenAPI document says (Python's Decimal would also take "1_000", " 5 ", "1e3").
PLAIN_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")


def _plain_decimal_text(value):
    if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value):
        raise ValueError(
            f"{value[:40]!r} is not an amount: write digits with an optional "
            'decimal point, as in "1500.00" (or a JSON number)'
        )
    return value


# JSON numbers are read exactly (see ``routing``), strings are plain decimals.
PositiveAmount = Annotated[
    Decimal,
    Field(gt=0, max_digits=20, allow_inf_nan=False, examples=[Decimal("1500.00")]),
    # After the Field: the documented schema stays pydantic's.
    BeforeValidator(_plain_decimal_text),
]
# One line of text (PRINTABLE): PostgreSQL refuses NUL, and a line break in a
# narrative or a name breaks the MT940 statements (the service's own limit is 255
# characters). Spaces around a text are removed (``OneLine``).
AccountNumber = Annotated[str, OneLine(64, 1), Field(examples=["PROG-FUND-001"])]
Reference = Annotated[str, OneLine(64, 1)]
Code = Annotated[str, OneLine(64)]
Text = Annotated[str, OneLine(255)]
Status = Literal["success", "failed"]


#: An initiate_payment item as the OpenG2P bridge sends it.
PAYMENT_EXAMPLE = {
    "payment_reference_number": "PAY-2611-000001",
    "remitting_account": "PROG-FUND-001",
    "remitting_account_currency": "KES",
    "payment_amount": "1500.00",
    "funds_blocked_reference_number": "BLK0000000001",
    "beneficiary_name": "Amina Wanjiru",
    "beneficiary_account": "0123456789",
    "beneficiary_account_currency": "KES",
    "beneficiary_account_type": "BANK_ACCOUNT",
    "beneficiary_bank_code": "KCBLKENX",
    "beneficiary_branch_code": "001",
    "narrative_1": "Cash transfer Nov 2026",
    "narrative_2": "PROGCT",
    "narrative_3": "CT-2026-11",
    "narrative_4": "REG-2026-000123",
    "narrative_5": "",
    "narrative_6": "",
    "payment_date": "2026-11-22",
}
#: A statement as GET /statements/{id}/mt940 answers it.
MT940_EXAMPLE = (
    ":20:STM0000000001\r\n:25:PROG-FUND-001\r\n:28C:1/1\r\n"
    ":60F:C261122KES1000000,00\r\n"
    ":61:2611221122D1500,00NTRFPAY-2611-000001//SIM0000000042\r\n"
    ":86:Cash transfer Nov 2026\r\nPROGCT\r\nCT-2026-11\r\nREG-2026-000123\r\n"
    ":62F:C261122KES998500,00\r\n:64:C261122KES548500,00\r\n-\r\n"
)


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CheckFundsRequest(ContractModel):
    account_number: AccountNumber
    account_currency: Currency
    total_funds_needed: PositiveAmount

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_number": "PROG-FUND-001",
                    "account_currency": "KES",
                    "total_funds_needed": "450000.00",
                }
            ]
        }
    )


class CheckFundsResponse(ContractModel):
    status: Status
    account_number: str
    has_sufficient_funds: bool
    error_code: str | None = None
    error_message: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "success",
                    "account_number": "PROG-FUND-001",
                    "has_sufficient_funds": True,
                    "error_code": None,
                    "error_message": "",
                },
                {
                    "status": "failed",
                    "account_number": "PROG-FUND-001",
                    "has_sufficient_funds": False,
                    "error_code": "INSUFFICIENT_FUNDS",
                    "error_message": "Insufficient funds",
                },
            ]
        }
    )


class BlockFundsRequest(ContractModel):
    account_number: AccountNumber
    currency: Currency
    amount: PositiveAmount
    # Not in the example-bank contract (its clients do not send it): the client's own
    # reference for the block, an idempotency key, so that a retried call after a
    # timeout gets the first block back instead of blocking the money twice.
    block_reference_no: Annotated[
        Annotated[str, OneLine(16, 1)] | None,
        Field(
            default=None,
            description="Optional idempotency key (an extension of the contract): "
            "the same reference with the same account and amount answers the first "
            "block; with other content it fails with DUPLICATE_REFERENCE.",
            examples=["PB/2026/00001"],
        ),
    ] = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_number": "PROG-FUND-001",
                    "currency": "KES",
                    "amount": "450000.00",
                }
            ]
        }
    )


class BlockFundsResponse(ContractModel):
    status: Status
    block_reference_no: str = ""
    error_code: str | None = None
    error_message: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "success",
                    "block_reference_no": "BLK0000000001",
                    "error_code": None,
                    "error_message": "",
                }
            ]
        }
    )


class ReleaseBlockRequest(ContractModel):
    block_reference_no: Reference

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"block_reference_no": "BLK0000000001"}]}
    )


class ReleaseBlockResponse(ContractModel):
    status: Status
    block_reference_no: str
    amount_released: Decimal | None = None
    error_code: str | None = None
    error_message: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "success",
                    "block_reference_no": "BLK0000000001",
                    "amount_released": "1500.00",
                    "error_code": None,
                    "error_message": "",
                }
            ]
        }
    )


# A dict, not a model: initiate_payment takes up to 50,000 of these and the service
# takes dicts; validated straight into dicts, FastAPI's work on a body of 10,000
# payments is a third shorter than into models turned back into dicts. Optional fields
# absent from the request are absent from the dict.
@with_config(
    ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [PAYMENT_EXAMPLE]},
    )
)
class PaymentRequest(TypedDict):
    payment_reference_number: Reference
    remitting_account: AccountNumber
    remitting_account_currency: Currency
    payment_amount: PositiveAmount
    funds_blocked_reference_number: Reference
    beneficiary_name: Text
    beneficiary_account: AccountNumber
    beneficiary_account_currency: Currency
    beneficiary_account_type: Literal["BANK_ACCOUNT", "MOBILE_WALLET", "EMAIL_WALLET"]
    # Required, as in the contract (the example bank and the bridge's connector
    # have them as required strings); empty for a wallet.
    beneficiary_bank_code: Code
    beneficiary_branch_code: Code
    beneficiary_mobile_wallet_provider: NotRequired[Text | None]
    beneficiary_phone_no: NotRequired[Annotated[str, OneLine(32)] | None]
    beneficiary_email: NotRequired[Text | None]
    beneficiary_email_wallet_provider: NotRequired[Text | None]
    narrative_1: NotRequired[Text | None]
    narrative_2: NotRequired[Text | None]
    narrative_3: NotRequired[Text | None]
    narrative_4: NotRequired[Text | None]
    narrative_5: NotRequired[Text | None]
    narrative_6: NotRequired[Text | None]
    payment_date: Annotated[str, OneLine(32)]


PaymentRequestList = Annotated[
    list[PaymentRequest], Field(min_length=1, max_length=MAX_PAYMENTS_PER_CALL)
]


class InitiatePaymentResponse(ContractModel):
    status: Status
    batch_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "success",
                    "batch_id": "BATCH0000000001",
                    "error_code": None,
                    "error_message": "",
                },
                {
                    "status": "failed",
                    "batch_id": None,
                    "error_code": "DUPLICATE_REFERENCE",
                    "error_message": "Payment reference PAY-2611-000001 is known "
                    "with other content.",
                },
            ]
        }
    )


class AccountStatementRequest(ContractModel):
    program_account_number: AccountNumber

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"program_account_number": "PROG-FUND-001"}]}
    )


class AccountStatementResponse(ContractModel):
    status: Status
    account_statement_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "success",
                    "account_statement_id": "STM0000000001",
                    "error_code": None,
                    "error_message": "",
                }
            ]
        }
    )


class StatementStatus(ContractModel):
    account_statement_id: str
    account_number: str
    state: Literal["pending", "processing", "done", "failed"]
    statement_number: int | None = None
    entry_count: int
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    error: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_statement_id": "STM0000000001",
                    "account_number": "PROG-FUND-001",
                    "state": "done",
                    "statement_number": 1,
                    "entry_count": 3,
                    "opening_balance": "0.00",
                    "closing_balance": "1000000.00",
                    "error": None,
                }
            ]
        }
    )


class PaymentStatus(ContractModel):
    payment_reference_number: str
    batch_id: str
    status: Literal["pending", "success", "failed"]
    failure_reason: str | None = None
    bank_reference: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_reference_number": "PAY-2611-000001",
                    "batch_id": "BATCH0000000001",
                    "status": "failed",
                    "failure_reason": "ACCOUNT_CLOSED",
                    "bank_reference": "SIM0000000042",
                }
            ]
        }
    )


class BatchStatus(ContractModel):
    batch_id: str
    state: Literal["pending", "processing", "done", "failed"]
    payment_count: int
    success_count: int
    failed_count: int
    amount_total: Decimal
    amount_success: Decimal = Decimal(0)
    amount_failed: Decimal = Decimal(0)
    error: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "batch_id": "BATCH0000000001",
                    "state": "done",
                    "payment_count": 3,
                    "success_count": 2,
                    "failed_count": 1,
                    "amount_total": "4500.00",
                    "amount_success": "3000.00",
                    "amount_failed": "1500.00",
                    "error": None,
                }
            ]
        }
    )


class AccountBalance(ContractModel):
    account_number: str
    currency: str
    book_balance: Decimal
    blocked_amount: Decimal
    available_balance: Decimal

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_number": "PROG-FUND-001",
                    "currency": "KES",
                    "book_balance": "1000000.00",
                    "blocked_amount": "450000.00",
                    "available_balance": "550000.00",
                }
            ]
        }
    )
