"""The bank app's routes: thin, each validates, calls one use case, answers.

Routes are coroutines that call the ORM without awaiting: our dispatcher runs each
request's app on its own thread's event loop, one request at a time (see
``fastapi_dispatcher``); FastAPI would run a plain function in a thread pool."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response
from fastapi.responses import PlainTextResponse

from odoo.api import Environment

from ..dependencies import bank_api_env
from ..routing import G2PRoute
from ..schemas.bank import (
    MT940_EXAMPLE,
    AccountBalance,
    AccountStatementRequest,
    AccountStatementResponse,
    BatchStatus,
    BlockFundsRequest,
    BlockFundsResponse,
    CheckFundsRequest,
    CheckFundsResponse,
    InitiatePaymentResponse,
    PaymentRequestList,
    PaymentStatus,
    ReleaseBlockRequest,
    ReleaseBlockResponse,
    StatementStatus,
)
from ..schemas.errors import error_responses
from ..schemas.registry import KEY_PATTERN

# Business failures are answered 200 with "status": "failed" (the contract); these
# are the HTTP errors every route may answer, documented with their bodies.
bank_router = APIRouter(
    route_class=G2PRoute, tags=["bank"], responses=error_responses(401, 403, 422)
)
# POST routes: also a body that cannot be read (400).
WITH_BODY = error_responses(400)
BankEnv = Annotated[Environment, Depends(bank_api_env)]


def _key(example):
    """A path parameter naming a record: one line of text. References and account
    numbers may contain "/" (``PB/2026/00001``): the routes take them with Starlette's
    ``path`` convertor, so that ``PB%2F2026%2F00001`` (or the plain slashes) finds
    the record."""
    return Annotated[
        str,
        Path(
            min_length=1,
            max_length=64,
            pattern=KEY_PATTERN,
            examples=[example],
        ),
    ]


StatementId = _key("STM0000000001")
PaymentReference = _key("PAY-2611-000001")
BatchId = _key("BATCH0000000001")
AccountNumber = _key("PROG-FUND-001")
STATEMENT_NOT_FOUND = (
    "STATEMENT_NOT_FOUND",
    "Statement 'STM0000000009' does not exist.",
)


def _helper(env):
    return env["g2p.bank.api.router.helper"]


@bank_router.post("/check_funds", responses=WITH_BODY)
async def check_funds(request: CheckFundsRequest, env: BankEnv) -> CheckFundsResponse:
    """Whether the account's available balance covers the amount.

    `status` is `success` only when the funds are available."""
    return _helper(env).check_funds(request)


@bank_router.post("/block_funds", responses=WITH_BODY)
async def block_funds(request: BlockFundsRequest, env: BankEnv) -> BlockFundsResponse:
    """Move the amount from available to blocked; answer the block's reference."""
    return _helper(env).block_funds(request)


@bank_router.post("/release_block", responses=WITH_BODY)
async def release_block(
    request: ReleaseBlockRequest, env: BankEnv
) -> ReleaseBlockResponse:
    """Return a block's remaining amount to the available balance."""
    return _helper(env).release_block(request)


@bank_router.post("/initiate_payment", responses=WITH_BODY)
async def initiate_payment(
    requests: Annotated[PaymentRequestList, Body()], env: BankEnv
) -> InitiatePaymentResponse:
    """Record a list of payments as one batch, executed asynchronously.

    Payment references are idempotency keys: replaying a whole earlier call answers
    `success` and changes nothing; a call that mixes new and already known references
    is refused (`DUPLICATE_REFERENCE`) and changes nothing."""
    return _helper(env).initiate_payment(requests)


@bank_router.post("/generate_account_statement", responses=WITH_BODY)
async def generate_account_statement(
    request: AccountStatementRequest, env: BankEnv
) -> AccountStatementResponse:
    """Create a statement of the entries not yet reported (written by a job)."""
    return _helper(env).generate_account_statement(request)


@bank_router.get(
    "/statements/{account_statement_id}",
    responses=error_responses(404, e404=STATEMENT_NOT_FOUND),
)
async def statement_status(
    account_statement_id: StatementId, env: BankEnv
) -> StatementStatus:
    """A statement's state, number, balances and entry count."""
    return _helper(env).statement_status(account_statement_id)


@bank_router.get(
    "/statements/{account_statement_id}/mt940",
    # The text is the answer; errors stay JSON (a plain-text response class would
    # document them as text).
    response_class=Response,
    responses={
        200: {
            "description": "The MT940 text.",
            "content": {
                "text/plain": {"schema": {"type": "string"}, "example": MT940_EXAMPLE}
            },
        },
        **error_responses(
            404,
            409,
            e404=STATEMENT_NOT_FOUND,
        ),
    },
)
async def statement_mt940(
    account_statement_id: StatementId, env: BankEnv
) -> PlainTextResponse:
    """The statement's MT940 text (CRLF lines), once it is done."""
    return PlainTextResponse(_helper(env).statement_mt940(account_statement_id))


@bank_router.get(
    "/payments/{payment_reference_number:path}", responses=error_responses(404)
)
async def payment_status(
    payment_reference_number: PaymentReference, env: BankEnv
) -> PaymentStatus:
    """A payment's status: pending, success or failed (with the reason)."""
    return _helper(env).payment_status(payment_reference_number)


@bank_router.get(
    "/batches/{batch_id}",
    responses=error_responses(
        404, e404=("BATCH_NOT_FOUND", "Batch 'BATCH0000000009' does not exist.")
    ),
)
async def batch_status(batch_id: BatchId, env: BankEnv) -> BatchStatus:
    """A batch's state and its counts and totals by outcome."""
    return _helper(env).batch_status(batch_id)


@bank_router.get(
    "/accounts/{account_number:path}/balance",
    responses=error_responses(
        404, e404=("ACCOUNT_NOT_FOUND", "Account 'PROG-FUND-009' does not exist.")
    ),
)
async def account_balance(
    account_number: AccountNumber, env: BankEnv
) -> AccountBalance:
    """Book, blocked and available balance of an account."""
    return _helper(env).account_balance(account_number)
