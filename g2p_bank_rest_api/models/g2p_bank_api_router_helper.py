from contextlib import nullcontext
from decimal import Decimal

from fastapi import HTTPException, status

from odoo import models
from odoo.tools import SQL

from odoo.addons.g2p_bank_simulator.exceptions import G2PSimBankError

from ..schemas.bank import (
    AccountBalance,
    AccountStatementResponse,
    BatchStatus,
    BlockFundsResponse,
    CheckFundsResponse,
    InitiatePaymentResponse,
    PaymentStatus,
    ReleaseBlockResponse,
    StatementStatus,
)

#: Service errors that mean "your request is malformed" (HTTP 422); every other service
#: error is a business outcome, answered with HTTP 200 and ``"status": "failed"``.
MALFORMED_REQUEST_CODES = {"INVALID_AMOUNT", "INVALID_REQUEST"}


class G2PBankApiRouterHelper(models.AbstractModel):
    """The use cases of the bank app: the example-bank contract on the simulator."""

    _name = "g2p.bank.api.router.helper"
    _description = "Bank API use cases"

    def _call(self, service, *args, savepoint=True):
        """Call a simulator service; return ``(result, None)`` or ``(None, error)``.

        The call runs in a ``savepoint``: a business failure is answered with HTTP
        200 (so the request's transaction commits) and must leave nothing behind.
        (Not needed for services that write nothing, or that undo their own writes
        before raising.) ``error`` is ``(code, message)``.
        """
        try:
            with self.env.cr.savepoint() if savepoint else nullcontext():
                return getattr(self.env["g2p.sim.bank"], service)(*args), None
        except G2PSimBankError as error:
            if error.code in MALFORMED_REQUEST_CODES:
                raise HTTPException(
                    422,  # status.HTTP_422_UNPROCESSABLE_CONTENT on newer Starlette
                    detail={"code": error.code, "message": str(error.args[0])},
                ) from error
            return None, (error.code, str(error.args[0]))

    def check_funds(self, request):
        available, error = self._call(
            "check_funds",
            request.account_number,
            request.account_currency,
            request.total_funds_needed,
            savepoint=False,  # reads only
        )
        if not error and not available:
            error = ("INSUFFICIENT_FUNDS", "Insufficient funds")
        return CheckFundsResponse(
            status="failed" if error else "success",
            account_number=request.account_number,
            has_sufficient_funds=not error,
            error_code=error and error[0],
            error_message=error[1] if error else "",
        )

    def block_funds(self, request):
        block, error = self._call(
            "block_funds",
            request.account_number,
            request.currency,
            request.amount,
            request.block_reference_no,
            savepoint=False,  # undoes its own writes before raising
        )
        if error:
            return BlockFundsResponse(
                status="failed", error_code=error[0], error_message=error[1]
            )
        return BlockFundsResponse(
            status="success", block_reference_no=block.reference, error_message=""
        )

    def release_block(self, request):
        block, error = self._call("release_block", request.block_reference_no)
        if error:
            return ReleaseBlockResponse(
                status="failed",
                block_reference_no=request.block_reference_no,
                error_code=error[0],
                error_message=error[1],
            )
        return ReleaseBlockResponse(
            status="success",
            block_reference_no=block.reference,
            error_message="",
            **self._amounts(block, ["amount_released"]),
        )

    def initiate_payment(self, requests):
        # ``requests`` are validated dicts (PaymentRequest is a TypedDict).
        batch, error = self._call("initiate_payment", requests)
        if error:
            return InitiatePaymentResponse(
                status="failed", error_code=error[0], error_message=error[1]
            )
        return InitiatePaymentResponse(
            status="success", batch_id=batch.name, error_message=""
        )

    def generate_account_statement(self, request):
        statement, error = self._call(
            "generate_statement", request.program_account_number
        )
        if error:
            return AccountStatementResponse(
                status="failed", error_code=error[0], error_message=error[1]
            )
        return AccountStatementResponse(
            status="success", account_statement_id=statement.name, error_message=""
        )

    # ---------------------------------------------------------------- status reads
    def _get(self, model, field, value, code, what):
        """The record whose ``field`` is ``value``, or 404 with ``code``."""
        record = self.env[model].search([(field, "=", value)], limit=1)
        if not record:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                detail={"code": code, "message": f"{what} {value!r} does not exist."},
            )
        return record

    def _amounts(self, record, names, null=None):
        """Monetary columns read exactly (the ORM reads numeric as float), with the
        decimals of the record's currency ("50.00", "0.00"); ``null`` for an
        empty column."""
        record.flush_recordset(names)
        self.env.cr.execute(
            SQL(
                "SELECT %s FROM %s WHERE id = %s",
                SQL(", ").join(SQL("%s::text", SQL.identifier(n)) for n in names),
                SQL.identifier(record._table),
                record.id,
            )
        )
        values = [null if v is None else Decimal(v) for v in self.env.cr.fetchone()]
        currency = record.currency_id
        unit = Decimal(1).scaleb(-currency.decimal_places) if currency else None
        return {n: self._money(v, unit) for n, v in zip(names, values, strict=True)}

    @staticmethod
    def _money(amount, unit):
        """``amount`` with the currency's decimals; never rounded (the bank stores
        no more decimals than its currency has)."""
        if (
            amount is None
            or unit is None
            or amount.as_tuple().exponent < unit.as_tuple().exponent
        ):
            return amount
        return amount.quantize(unit)

    def _get_statement(self, statement_id):
        return self._get(
            "g2p.sim.statement",
            "name",
            statement_id,
            "STATEMENT_NOT_FOUND",
            "Statement",
        )

    def statement_status(self, statement_id):
        statement = self._get_statement(statement_id)
        return StatementStatus(
            account_statement_id=statement.name,
            account_number=statement.account_id.account_number,
            state=statement.state,
            statement_number=statement.number or None,
            entry_count=statement.entry_count,
            error=statement.error or None,
            **self._amounts(statement, ["opening_balance", "closing_balance"]),
        )

    def statement_mt940(self, statement_id):
        statement = self._get_statement(statement_id)
        if statement.state != "done":
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                detail={
                    "code": "STATEMENT_NOT_READY",
                    "message": f"Statement {statement.name} failed: it has no "
                    "MT940. Request a new statement (generate_account_statement): "
                    "it reports the entries this one did not."
                    if statement.state == "failed"
                    else f"Statement {statement.name} is {statement.state}; its "
                    "MT940 is available once it is done.",
                },
            )
        return statement.mt940_text

    def payment_status(self, reference):
        payment = self._get(
            "g2p.sim.payment",
            "payment_reference_number",
            reference,
            "PAYMENT_NOT_FOUND",
            "Payment",
        )
        return PaymentStatus(
            payment_reference_number=payment.payment_reference_number,
            batch_id=payment.batch_id.name,
            status=payment.status,
            failure_reason=payment.failure_reason or None,
            bank_reference=payment.bank_reference or None,
        )

    def batch_status(self, batch_id):
        batch = self._get(
            "g2p.sim.payment.batch", "name", batch_id, "BATCH_NOT_FOUND", "Batch"
        )
        return BatchStatus(
            batch_id=batch.name,
            state=batch.state,
            payment_count=batch.payment_count,
            success_count=batch.success_count,
            failed_count=batch.failed_count,
            error=batch.error or None,
            # totals by outcome are empty (zero) until the batch is processed
            **self._amounts(
                batch,
                ["amount_total", "amount_success", "amount_failed"],
                null=Decimal(0),
            ),
        )

    def account_balance(self, account_number):
        account = self._get(
            "g2p.sim.account",
            "account_number",
            account_number,
            "ACCOUNT_NOT_FOUND",
            "Account",
        )
        return AccountBalance(
            account_number=account.account_number,
            currency=account.currency_id.name,
            **self._amounts(
                account, ["book_balance", "blocked_amount", "available_balance"]
            ),
        )
