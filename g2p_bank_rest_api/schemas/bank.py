"""Wire schemas of the bank app: the example-bank contract, field for field.

Plain pydantic models (not extendable): the contract fixes the wire format. Unknown
keys are ignored (the OpenG2P bridge sends ``active``); amounts are ``Decimal``.
"""

from decimal import Decimal
from typing import Annotated, Literal

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: Payments one initiate_payment call may carry (a larger batch is split by the client).
MAX_PAYMENTS_PER_CALL = 50_000


def _iso_currency(code: str) -> str:
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


Currency = Annotated[
    str,
    Field(min_length=3, max_length=3, pattern="^[A-Z]{3}$", examples=["KES"]),
    AfterValidator(_iso_currency),
]
PositiveAmount = Annotated[
    Decimal,
    Field(gt=0, max_digits=20, allow_inf_nan=False, examples=[Decimal("1500.00")]),
]
AccountNumber = Annotated[
    str, Field(min_length=1, max_length=64, examples=["PROG-FUND-001"])
]
Text = Annotated[str, Field(max_length=256)]
Status = Literal["success", "failed"]


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class CheckFundsRequest(ContractModel):
    account_number: AccountNumber
    account_currency: Currency
    total_funds_needed: PositiveAmount


class CheckFundsResponse(ContractModel):
    status: Status
    account_number: str
    has_sufficient_funds: bool
    error_code: str | None = None
    error_message: str | None = None


class BlockFundsRequest(ContractModel):
    account_number: AccountNumber
    currency: Currency
    amount: PositiveAmount
    # Not in the example-bank contract (its clients do not send it): the client's own
    # reference for the block, an idempotency key, so that a retried call after a
    # timeout gets the first block back instead of blocking the money twice.
    block_reference_no: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=16,
            description="Optional idempotency key (an extension of the contract): "
            "the same reference with the same account and amount answers the first "
            "block; with other content it fails with DUPLICATE_REFERENCE.",
            examples=["PB/2026/00001"],
        ),
    ] = None


class BlockFundsResponse(ContractModel):
    status: Status
    block_reference_no: str = ""
    error_code: str | None = None
    error_message: str | None = None


class ReleaseBlockRequest(ContractModel):
    block_reference_no: Annotated[str, Field(min_length=1, max_length=64)]


class ReleaseBlockResponse(ContractModel):
    status: Status
    block_reference_no: str
    amount_released: Decimal | None = None
    error_code: str | None = None
    error_message: str | None = None


class PaymentRequest(ContractModel):
    payment_reference_number: Annotated[str, Field(min_length=1, max_length=64)]
    remitting_account: AccountNumber
    remitting_account_currency: Currency
    payment_amount: PositiveAmount
    funds_blocked_reference_number: Annotated[str, Field(min_length=1, max_length=64)]
    beneficiary_name: Text
    beneficiary_account: AccountNumber
    beneficiary_account_currency: Currency
    beneficiary_account_type: Literal["BANK_ACCOUNT", "MOBILE_WALLET", "EMAIL_WALLET"]
    beneficiary_bank_code: Annotated[str, Field(max_length=64)] = ""
    beneficiary_branch_code: Annotated[str, Field(max_length=64)] = ""
    beneficiary_mobile_wallet_provider: Text | None = None
    beneficiary_phone_no: Annotated[str, Field(max_length=32)] | None = None
    beneficiary_email: Text | None = None
    beneficiary_email_wallet_provider: Text | None = None
    narrative_1: Text | None = None
    narrative_2: Text | None = None
    narrative_3: Text | None = None
    narrative_4: Text | None = None
    narrative_5: Text | None = None
    narrative_6: Text | None = None
    payment_date: Annotated[str, Field(max_length=32)]


PaymentRequestList = Annotated[
    list[PaymentRequest], Field(min_length=1, max_length=MAX_PAYMENTS_PER_CALL)
]


class InitiatePaymentResponse(ContractModel):
    status: Status
    batch_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class AccountStatementRequest(ContractModel):
    program_account_number: AccountNumber


class AccountStatementResponse(ContractModel):
    status: Status
    account_statement_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class StatementStatus(ContractModel):
    account_statement_id: str
    account_number: str
    state: Literal["pending", "processing", "done", "failed"]
    statement_number: int | None = None
    entry_count: int
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    error: str | None = None


class PaymentStatus(ContractModel):
    payment_reference_number: str
    batch_id: str
    status: Literal["pending", "success", "failed"]
    failure_reason: str | None = None
    bank_reference: str | None = None


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


class AccountBalance(ContractModel):
    account_number: str
    currency: str
    book_balance: Decimal
    blocked_amount: Decimal
    available_balance: Decimal
