"""The bank app's routes: thin, each validates, calls one use case, answers."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path
from fastapi.responses import PlainTextResponse

from odoo.api import Environment

from ..dependencies import bank_api_env
from ..schemas.bank import (
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

bank_router = APIRouter(tags=["bank"])
BankEnv = Annotated[Environment, Depends(bank_api_env)]
Key = Annotated[str, Path(min_length=1, max_length=64)]


def _helper(env):
    return env["g2p.bank.api.router.helper"]


@bank_router.post("/check_funds")
def check_funds(request: CheckFundsRequest, env: BankEnv) -> CheckFundsResponse:
    """Whether the account's available balance covers the amount.

    `status` is `success` only when the funds are available."""
    return _helper(env).check_funds(request)


@bank_router.post("/block_funds")
def block_funds(request: BlockFundsRequest, env: BankEnv) -> BlockFundsResponse:
    """Move the amount from available to blocked; answer the block's reference."""
    return _helper(env).block_funds(request)


@bank_router.post("/release_block")
def release_block(request: ReleaseBlockRequest, env: BankEnv) -> ReleaseBlockResponse:
    """Return a block's remaining amount to the available balance."""
    return _helper(env).release_block(request)


@bank_router.post("/initiate_payment")
def initiate_payment(
    requests: Annotated[PaymentRequestList, Body()], env: BankEnv
) -> InitiatePaymentResponse:
    """Record a list of payments as one batch, executed asynchronously.

    Payment references are idempotency keys: replaying a whole earlier call answers
    `success` and changes nothing; a call that mixes new and already known references
    is refused (`DUPLICATE_REFERENCE`) and changes nothing."""
    return _helper(env).initiate_payment(requests)


@bank_router.post("/generate_account_statement")
def generate_account_statement(
    request: AccountStatementRequest, env: BankEnv
) -> AccountStatementResponse:
    """Create a statement of the entries not yet reported (written by a job)."""
    return _helper(env).generate_account_statement(request)


@bank_router.get("/statements/{account_statement_id}")
def statement_status(account_statement_id: Key, env: BankEnv) -> StatementStatus:
    """A statement's state, number, balances and entry count."""
    return _helper(env).statement_status(account_statement_id)


@bank_router.get(
    "/statements/{account_statement_id}/mt940",
    response_class=PlainTextResponse,
    responses={409: {"description": "The statement is not generated yet."}},
)
def statement_mt940(account_statement_id: Key, env: BankEnv) -> str:
    """The statement's MT940 text (CRLF lines), once it is done."""
    return _helper(env).statement_mt940(account_statement_id)


@bank_router.get("/payments/{payment_reference_number}")
def payment_status(payment_reference_number: Key, env: BankEnv) -> PaymentStatus:
    """A payment's status: pending, success or failed (with the reason)."""
    return _helper(env).payment_status(payment_reference_number)


@bank_router.get("/batches/{batch_id}")
def batch_status(batch_id: Key, env: BankEnv) -> BatchStatus:
    """A batch's state and its counts and totals by outcome."""
    return _helper(env).batch_status(batch_id)


@bank_router.get("/accounts/{account_number}/balance")
def account_balance(account_number: Key, env: BankEnv) -> AccountBalance:
    """Book, blocked and available balance of an account."""
    return _helper(env).account_balance(account_number)
