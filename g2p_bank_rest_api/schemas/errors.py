"""Error bodies of the suite's apps, for their OpenAPI documents.

Every error answers ``{"detail": ...}``: our own refusals carry ``{"code", "message"}``;
FastAPI's request validation a list of errors (422); a few answers of the frameworks
a plain string (a body that is not text, Odoo's own refusals). Routes declare what
they may answer with ``error_responses()``, so that clients (and schemathesis) can
rely on the documented statuses and bodies.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorCode(BaseModel):
    code: str = Field(examples=["ACCOUNT_NOT_FOUND"])
    message: str = Field(examples=["Account PROG-FUND-001 does not exist."])


class ErrorResponse(BaseModel):
    """An error: a stable code and a message, or the framework's plain message."""

    detail: ErrorCode | str


class FieldError(BaseModel):
    """One error of FastAPI's request validation."""

    model_config = ConfigDict(extra="allow")

    type: str
    loc: list[str | int]
    msg: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationErrorResponse(BaseModel):
    """A malformed request: FastAPI's field errors, or a stable code and a message."""

    detail: list[FieldError] | ErrorCode


def _example(code, message):
    return {"detail": {"code": code, "message": message}}


#: What each error status means, and an example body.
ERRORS = {
    400: (
        ErrorResponse,
        (
            "The body cannot be read: it is not UTF-8 text, or its JSON is nested "
            "too deeply."
        ),
        {"detail": "There was an error parsing the body"},
    ),
    401: (
        ErrorResponse,
        "No credentials, or credentials this app does not accept.",
        _example("UNAUTHORIZED", "Send your API key in the HTTP-API-KEY header."),
    ),
    403: (
        ErrorResponse,
        "The client's user may not use this app.",
        _example(
            "FORBIDDEN",
            "User 'client' may not use the bank API: it needs the group "
            "'g2p_bank_rest_api.group_bank_api'.",
        ),
    ),
    404: (
        ErrorResponse,
        "The record named in the path does not exist.",
        _example("PAYMENT_NOT_FOUND", "Payment 'PAY-0001' does not exist."),
    ),
    409: (
        ErrorResponse,
        "The request conflicts with the current state.",
        _example(
            "STATEMENT_NOT_READY",
            "Statement STM0000000001 is pending; its MT940 is available once it "
            "is done.",
        ),
    ),
    422: (
        ValidationErrorResponse,
        "The request is malformed (missing field, wrong type, invalid value).",
        {
            "detail": [
                {
                    "type": "greater_than",
                    "loc": ["body", "amount"],
                    "msg": "Input should be greater than 0",
                    "input": -1,
                    "ctx": {"gt": 0},
                }
            ]
        },
    ),
}


def error_responses(*statuses, **examples):
    """The ``responses=`` of a route or router for these error statuses; an
    ``e<status>=(code, message)`` keyword gives a status its own example."""
    responses = {}
    for status in statuses:
        model, description, example = ERRORS[status]
        if f"e{status}" in examples:
            example = _example(*examples[f"e{status}"])
        responses[status] = {
            "model": model,
            "description": description,
            "content": {"application/json": {"example": example}},
        }
    return responses
