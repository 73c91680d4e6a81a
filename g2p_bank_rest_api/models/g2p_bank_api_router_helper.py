from fastapi import HTTPException

from odoo import models

from odoo.addons.g2p_bank_simulator.exceptions import G2PSimBankError

from ..schemas.bank import (
    AccountStatementResponse,
    BlockFundsResponse,
    CheckFundsResponse,
    InitiatePaymentResponse,
    ReleaseBlockResponse,
)

#: Service errors that mean "your request is malformed" (HTTP 422); every other service
#: error is a business outcome, answered with HTTP 200 and ``"status": "failed"``.
MALFORMED_REQUEST_CODES = {"INVALID_AMOUNT", "INVALID_REQUEST"}


class G2PBankApiRouterHelper(models.AbstractModel):
    """The use cases of the bank app: the example-bank contract on the simulator."""

    _name = "g2p.bank.api.router.helper"
    _description = "Bank API use cases"

    def _call(self, service, *args):
        """Call a simulator service; return ``(result, None)`` or ``(None, error)``.

        The call runs in a savepoint: a business failure is answered with HTTP 200
        (so the request's transaction commits) and must leave nothing behind.
        ``error`` is ``(code, message)``.
        """
        try:
            with self.env.cr.savepoint():
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
            "block_funds", request.account_number, request.currency, request.amount
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
            amount_released=block.amount_released,
            error_message="",
        )

    def initiate_payment(self, requests):
        payments = [request.model_dump() for request in requests]
        batch, error = self._call("initiate_payment", payments)
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
