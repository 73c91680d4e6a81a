"""How the suite's routes read a request body and report what is wrong with it.

``G2PRoute`` is the ``route_class`` of both apps' routers:

- JSON numbers are read exactly. Starlette parses a body with ``json.loads``, which
  turns ``100000000000000.01`` into the nearest float (``100000000000000.015625``),
  and pydantic's ``Decimal`` then validates that float: the amount blocked was not the
  amount sent, and an amount with too many decimals could pass as a rounded one. Our
  requests parse numbers with a fraction or an exponent as ``Decimal`` (integers are
  exact already), so validation sees what the client wrote.
- A malformed request's 422 lists at most ``MAX_ERRORS`` errors, then one more entry
  that counts the rest, and echoes no large ``input``: a list of 2,000 wrong items
  answered 22 MB, each error repeating its whole item. The ``loc`` of each error still
  says where the problem is.

Neither changes the OpenAPI documents.
"""

import json
from decimal import Decimal

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from .schemas.registry import PRINTABLE

#: Errors a 422 lists; the others are counted.
MAX_ERRORS = 20
#: The longest text echoed back as an error's ``input`` (longer text is cut).
MAX_INPUT_CHARS = 100


class ExactJsonRequest(Request):
    """A request whose JSON body is parsed with exact decimal numbers."""

    async def json(self):
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=Decimal)
        return self._json


def _echo(value):
    """What an error may echo of the invalid ``value``: text is cut short."""
    if isinstance(value, str) and len(value) > MAX_INPUT_CHARS:
        return value[:MAX_INPUT_CHARS] + "…"
    return value


def bounded_errors(errors):
    """FastAPI's validation ``errors``, bounded in number and in size."""
    bounded = []
    for error in errors[:MAX_ERRORS]:
        error = dict(error)
        if error.get("ctx", {}).get("pattern") == PRINTABLE:
            # Pydantic would quote the regular expression; say it in words.
            error["msg"] = (
                "Text must be one line of printable characters: no line breaks, "
                "tabs or other control characters"
            )
        if isinstance(error.get("input"), dict | list | tuple | bytes):
            del error["input"]  # a whole item or list: the loc says where
        elif "input" in error:
            error["input"] = _echo(error["input"])
        bounded.append(error)
    if len(errors) > MAX_ERRORS:
        rest = len(errors) - MAX_ERRORS
        bounded.append(
            {
                "type": "too_many_errors",
                "loc": ["body"],
                "msg": f"{rest} more errors not listed: correct the ones above "
                "and send the request again.",
                "input": None,
            }
        )
    return bounded


class G2PRoute(APIRoute):
    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route_handler(request: Request):
            try:
                return await handler(ExactJsonRequest(request.scope, request.receive))
            except RequestValidationError as error:
                raise RequestValidationError(
                    bounded_errors(list(error.errors()))
                ) from None

        return route_handler
