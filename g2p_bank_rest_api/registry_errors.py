"""Errors of the registry app's use cases (plain Python, no Odoo model)."""

from fastapi import HTTPException


class RegistryError(Exception):
    """A refusal with a stable code: an HTTP error for a single request, an item
    error in a bulk request."""

    def __init__(self, code, message, status=422):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_http(self):
        return HTTPException(
            self.status, detail={"code": self.code, "message": self.message}
        )


class ConcurrentRegistration(Exception):
    """A concurrent request registered one of our new functional IDs first."""
