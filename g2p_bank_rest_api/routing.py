"""How the suite's routes read a request body and report what is wrong with it.

``G2PRoute`` is the ``route_class`` of both apps' routers:

- JSON numbers are read exactly. Starlette parses a body with ``json.loads``, which
  turns ``100000000000000.01`` into the nearest float (``100000000000000.015625``),
  and pydantic's ``Decimal`` then validates that float: the amount blocked was not the
  amount sent, and an amount with too many decimals could pass as a rounded one. Our
  requests parse numbers with a fraction or an exponent as ``Decimal`` (integers are
  exact already), so validation sees what the client wrote.
- JSON numbers are bounded before they are read: a number has at most
  ``MAX_NUMBER_CHARS`` characters and an exponent between -``MAX_EXPONENT`` and
  ``MAX_EXPONENT``. ``1e999999`` is a short text but a million-digit integer to
  whoever turns it into one (the 422's echo did: 26 s of CPU, then a 500). ``NaN``
  and ``Infinity``, which ``json.loads`` accepts, are not JSON and are refused.
  Both answer 422 with a message that says why, before any validation.
- A malformed request's 422 lists at most ``MAX_ERRORS`` errors, then one more entry
  that counts the rest, and echoes no large ``input``: a list of 2,000 wrong items
  answered 22 MB, each error repeating its whole item. The ``loc`` of each error still
  says where the problem is. A number is echoed as a short text unless it is a small
  integer, and a text that is not valid Unicode (a lone UTF-16 surrogate) with the
  surrogate escaped, so that the answer is always JSON that can be written.

Neither changes the OpenAPI documents.
"""

import json
import re
from decimal import Decimal

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from .schemas.registry import KEY_PATTERN, PRINTABLE

#: Errors a 422 lists; the others are counted.
MAX_ERRORS = 20
#: The longest text echoed back as an error's ``input`` (longer text is cut).
MAX_INPUT_CHARS = 100
#: The longest JSON number read, in characters (the bank's amounts are below 10**14
#: with at most 3 decimals: 18 characters).
MAX_NUMBER_CHARS = 40
#: The largest exponent (``1e99``) of a JSON number read.
MAX_EXPONENT = 99
#: Integers echoed as numbers; larger ones are echoed as (short) text.
MAX_ECHOED_INTEGER = 10**15
NUMBER_RULE = (
    f"a number with a decimal point or an exponent has at most {MAX_NUMBER_CHARS} "
    f"characters and an exponent between -{MAX_EXPONENT} and {MAX_EXPONENT}"
)
ONE_LINE_MESSAGE = (
    "Text must be one line of printable characters: no line breaks, tabs or other "
    "control characters"
)
#: Our patterns in words (pydantic would quote the regular expression).
PATTERN_MESSAGES = {
    PRINTABLE: ONE_LINE_MESSAGE,
    KEY_PATTERN: "A key must be one line of printable characters, not empty",
    "^[A-Z]{3}$": "A currency is an ISO 4217 code: 3 capital letters",
    "^[A-Za-z]{3}$": "A currency is an ISO 4217 code: 3 letters",
    "^[A-Za-z]{2}$": "A country is an ISO 3166 code: 2 letters",
}
#: An integer longer than Python converts (``sys.int_info``: 4,300 digits); matched
#: from the start of a run of digits only, once per run.
LONG_INTEGER = re.compile(rb"(?<![0-9])[0-9]{4301}")


class BodyRefused(ValueError):
    """A JSON body refused while it is read: ``error`` in FastAPI's error form."""

    def __init__(self, error):
        super().__init__(error["msg"])
        self.error = error


def _shown(text):
    return text if len(text) <= 20 else text[:20] + "…"


def _refuse_number(text, rule=NUMBER_RULE):
    raise BodyRefused(
        {
            "type": "number_out_of_range",
            "loc": ["body"],
            "msg": f"The number {_shown(text)} is not accepted: {rule}.",
            "input": None,
        }
    )


def _exact_number(text):
    """``text``, a JSON number with a fraction or an exponent, as a ``Decimal``."""
    if len(text) > MAX_NUMBER_CHARS:
        _refuse_number(text)
    exponent = text.find("e")
    if exponent < 0:
        exponent = text.find("E")
    if exponent >= 0 and abs(int(text[exponent + 1 :])) > MAX_EXPONENT:
        _refuse_number(text)
    return Decimal(text)


def _not_json(constant):
    raise BodyRefused(
        {
            "type": "json_invalid",
            "loc": ["body"],
            "msg": f"Invalid JSON: {constant} is not a JSON value (a number is "
            "written with digits).",
            "input": None,
        }
    )


class ExactJsonRequest(Request):
    """A request whose JSON body is parsed with exact and bounded numbers."""

    async def json(self):
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = json.loads(
                    body, parse_float=_exact_number, parse_constant=_not_json
                )
            except (BodyRefused, UnicodeDecodeError, json.JSONDecodeError):
                raise
            except ValueError:
                # An integer too long for Python to convert (4,300 digits).
                integer = LONG_INTEGER.search(body)
                if integer is None:
                    raise
                _refuse_number(
                    integer.group().decode(), "an integer has at most 4300 digits"
                )
        return self._json


def _text(value):
    """``value`` as text that can be written as UTF-8 (a lone surrogate escaped)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode()
    return value


def _echo(value):
    """What an error may echo of the invalid ``value``: short text, small numbers."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and (
        -MAX_ECHOED_INTEGER < value < MAX_ECHOED_INTEGER  # not NaN nor infinite
    ):
        return value
    if not isinstance(value, str):
        # Decimal('1E+400') as text: FastAPI would write it as an integer of 401
        # digits (a million for 1e999999: minutes of CPU, then a 500).
        value = str(value)
    if len(value) > MAX_INPUT_CHARS:
        value = value[:MAX_INPUT_CHARS] + "…"
    return _text(value)


def _message(error):
    if error["type"] == "string_pattern_mismatch":
        return PATTERN_MESSAGES.get(error.get("ctx", {}).get("pattern"), error["msg"])
    if error["type"] == "string_unicode":
        return (
            "Text must be valid Unicode: a lone UTF-16 surrogate (\\ud800 to "
            "\\udfff) is not a character"
        )
    if error["type"] == "json_invalid" and "error" in error.get("ctx", {}):
        return f"Invalid JSON: {error['ctx']['error']}"
    return _text(error["msg"])


def bounded_errors(errors):
    """FastAPI's validation ``errors``, bounded in number and in size."""
    bounded = []
    for error in errors[:MAX_ERRORS]:
        error = dict(error)
        error["msg"] = _message(error)
        error["loc"] = [
            _text(part) if isinstance(part, str) else part for part in error["loc"]
        ]
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
            except HTTPException as error:
                # FastAPI answers 400 "There was an error parsing the body" for
                # any exception but invalid JSON; ours says why.
                if isinstance(error.__cause__, BodyRefused):
                    raise RequestValidationError(
                        bounded_errors([error.__cause__.error])
                    ) from None
                raise

        return route_handler
