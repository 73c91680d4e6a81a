"""Plain-Python helpers for account numbers, IBANs, BICs and bank names.

They know nothing about Odoo: they normalise values and let ``schwifty`` raise its own
exceptions, which the models turn into messages a registrar understands.
"""

import re

from schwifty import BIC, IBAN, exceptions, registry
from schwifty.domain import Component

SchwiftyException = exceptions.SchwiftyException

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{8,}$")
_NON_WORD = re.compile(r"\W+")
_SPACES = re.compile(r"\s+")
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/]+")
# E.164: "+", a country code not starting with 0, at most 15 digits in all.
_BBAN_ELEMENT = re.compile(r"(\d+)!([nac])")
_BANK_CODE_KINDS = {
    "n": (str.isdigit, "digits"),
    "a": (str.isalpha, "letters"),
    "c": (str.isalnum, "letters or digits"),
}
_INTERNATIONAL_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


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


def provider_key(provider):
    """The key two spellings of one wallet provider share: "M-Pesa" == " m-pesa"
    (as in the financial address and the unique index on account numbers)."""
    return _SPACES.sub("", provider or "").lower()


def normalise_bank_name(name):
    """The key two spellings of one bank share: "Bank of X" == " BANK  of x "."""
    return _SPACES.sub(" ", name or "").strip().casefold()


def normalise_phone(phone):
    """Without separators: "+254 700-000 001" -> "+254700000001". Letters stay, so
    that "1-800-CALL" is refused rather than turned into another number."""
    return _PHONE_SEPARATORS.sub("", phone or "")


def is_international_phone(phone):
    """True for a normalised phone in international format (E.164)."""
    return bool(_INTERNATIONAL_PHONE.match(phone or ""))


def iban_bic(iban):
    """The BIC of the bank an IBAN's bank code designates, or None when unknown."""
    try:
        bic = IBAN(iban).bic
    except SchwiftyException:
        return None
    return bic and bic.compact


def iban_account_codes(iban):
    """The local account numbers an IBAN stands for (account code and BBAN),
    without leading zeros."""
    parsed = IBAN(iban)
    return {parsed.account_code.lstrip("0"), parsed.bban.lstrip("0")}


def bank_code_error(country_code, bank_code):
    """The shape a bank code must have in ``country_code`` (e.g. "8 digits") when
    ``bank_code`` does not have it, else None."""
    spec = registry.get_iban_spec(country_code.upper())
    where = spec.positions[Component.BANK_CODE]
    length = where.end - where.start
    # The BBAN spec is e.g. "8!n10!n": find the element the bank code starts in.
    kind, offset = "c", 0
    for size, element_kind in _BBAN_ELEMENT.findall(spec.bban_spec):
        if offset <= where.start < offset + int(size):
            kind = element_kind
            break
        offset += int(size)
    code = compact(bank_code)
    check, words = _BANK_CODE_KINDS[kind]
    if len(code) == length and check(code):
        return None
    return f"{length} {words}"
