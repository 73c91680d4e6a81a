from odoo.exceptions import UserError

#: The stable error codes of the simulator's services (documented in readme/USAGE.md).
ERROR_CODES = (
    "ACCOUNT_NOT_FOUND",
    "ACCOUNT_NOT_ACTIVE",
    "CURRENCY_MISMATCH",
    "INVALID_AMOUNT",
    "INSUFFICIENT_FUNDS",
    "BLOCK_NOT_FOUND",
    "BLOCK_NOT_ACTIVE",
    "BLOCK_EXCEEDED",
    "DUPLICATE_REFERENCE",
    "INVALID_REQUEST",
    "STATEMENT_NOT_FOUND",
)


class G2PSimBankError(UserError):
    """A business error of the simulated bank: ``code`` is stable, the message is for people.

    A ``UserError``, so that the request transaction rolls back and nothing is changed.
    """

    def __init__(self, code, message):
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
