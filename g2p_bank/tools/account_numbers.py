"""Plain-Python helpers for account numbers, IBANs, BICs and bank names.

They know nothing about Odoo: they normalise values and let ``schwifty`` raise its own
exceptions, which the models turn into messages a registrar understands.
"""

import re

from schwifty import BIC, IBAN, exceptions, registry

SchwiftyException = exceptions.SchwiftyException

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{8,}$")
_NON_WORD = re.compile(r"\W+")
_SPACES = re.compile(r"\s+")


def compact(value):
    """Upper-case ``value`` without spaces or punctuation (Odoo's sanitized number)."""
    return _NON_WORD.sub("", value or "").upper()


def looks_like_iban(value):
    """True when ``value`` is shaped like an IBAN (country, check digits, BBAN)."""
    return bool(_IBAN_SHAPE.match(compact(value)))


def normalise_iban(value):
    """The compact IBAN, or a ``SchwiftyException`` when the IBAN is invalid."""
    return IBAN(compact(value)).compact


def country_uses_iban(country_code):
    try:
        registry.get_iban_spec((country_code or "").upper())
    except SchwiftyException:
        return False
    return True


def generate_iban(country_code, bank_code, account_code):
    """The compact IBAN of a national account, or a ``SchwiftyException``."""
    return IBAN.generate(
        country_code.upper(), bank_code=compact(bank_code), account_code=account_code
    ).compact


def normalise_bic(value):
    """The compact BIC (8 or 11 characters), or a ``SchwiftyException``."""
    return BIC(compact(value)).compact


def normalise_bank_name(name):
    """The key two spellings of one bank share: "Bank of X" == " BANK  of x "."""
    return _SPACES.sub(" ", name or "").strip().casefold()


def normalise_phone(phone):
    """Digits only, keeping a leading "+": "+254 700-000 001" -> "+254700000001"."""
    phone = (phone or "").strip()
    digits = re.sub(r"\D", "", phone)
    return ("+" + digits if phone.startswith("+") else digits) if digits else ""
