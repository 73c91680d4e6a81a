"""Wire schemas of the registry app.

Extendable (``StrictExtendableBaseModel``): another addon adds a field with
``class RegistrantIn(RegistrantIn, extends=True)`` and extends the matching
``from_<model>()`` factory or ``to_<model>_vals()`` method; unknown keys are refused
(422).
"""

from typing import Annotated, Literal

from extendable_pydantic import StrictExtendableBaseModel
from pydantic import Field, field_validator, model_validator
from pydantic_core import core_schema

from odoo.addons.extendable_fastapi.schemas import PagedCollection

#: Registrants one bulk request may carry; a larger batch is split by the client.
MAX_BULK_ITEMS = 1000


#: One line of text: no control character (PostgreSQL refuses NUL; a line break in
#: a name or a reference breaks the records and statements that show it: an MT940
#: narrative is one line each) and none of Unicode's own line or paragraph separators.
#: Every text field of both apps is one line. (A lone UTF-16 surrogate, \ud800 to
#: \udfff, is not in the class: pydantic-core's regular expressions cannot name it,
#: and pydantic refuses such a text before any pattern, as not valid Unicode.)
ONE_LINE_CHARACTER = r"[^\x00-\x1f\u007f-\u009f\u2028\u2029]"
PRINTABLE = rf"^{ONE_LINE_CHARACTER}*$"
#: A key in a path: no control character (Odoo cannot route a line break). Not the
#: bodies' full one-line class: schemathesis (4.32) does not honour its C1 range in a
#: path and sends line breaks; a key only looks records up.
KEY_PATTERN = r"^[^\x00-\x1f\x7f]+$"


class OneLine:
    """A text field: one line (``PRINTABLE``) as the client sent it, then the white
    space around it removed, then its lengths and its own ``pattern``.

    Pydantic's ``strip_whitespace`` runs before the pattern, and strips line breaks,
    tabs and Unicode's line separators too: ``"X\u2028"`` passed as ``"X"``. Here the
    two steps are a chain of two pydantic-core string validators, so that a control
    character at either end is refused as one in the middle is, with no Python call
    per value (initiate_payment validates up to 50,000 payments).
    """

    def __init__(
        self, max_length=None, min_length=None, pattern=None, upper=False, examples=None
    ):
        self.max_length = max_length
        self.min_length = min_length
        self.pattern = pattern
        self.upper = upper
        # In the schema itself: a path parameter's Field(examples=...) is lost.
        self.examples = examples

    def __get_pydantic_core_schema__(self, source, handler):
        return core_schema.chain_schema(
            [
                core_schema.str_schema(pattern=PRINTABLE, strip_whitespace=False),
                core_schema.str_schema(
                    strip_whitespace=True,
                    min_length=self.min_length,
                    max_length=self.max_length,
                    pattern=self.pattern,
                    to_upper=self.upper,
                ),
            ]
        )

    def __get_pydantic_json_schema__(self, schema, handler):
        json_schema = {"type": "string"}
        if self.min_length is not None:
            json_schema["minLength"] = self.min_length
        if self.max_length is not None:
            json_schema["maxLength"] = self.max_length
        # The field's own pattern refuses control characters too.
        json_schema["pattern"] = self.pattern or PRINTABLE
        if self.examples:
            json_schema["examples"] = self.examples
        return json_schema


def _text(max_length, min_length=0):
    return OneLine(max_length, min_length)


FunctionalId = Annotated[str, OneLine(20, 1, examples=["REG-2026-000123"])]
Name = Annotated[str, _text(256, 1), Field(examples=["Amina Wanjiru"])]
ShortText = Annotated[str, _text(64)]
LongText = Annotated[str, _text(256)]
CountryCode = Annotated[
    str, OneLine(pattern="^[A-Za-z]{2}$", upper=True), Field(examples=["KE"])
]
CurrencyCode = Annotated[
    str, OneLine(pattern="^[A-Za-z]{3}$", upper=True), Field(examples=["KES"])
]
AccountType = Literal["bank_account", "mobile_wallet", "email_wallet"]
# AccountIn key -> res.partner.bank field, for the plain values.
ACCOUNT_FIELDS = {
    "account_type": "g2p_account_type",
    "account_number": "acc_number",
    "iban": "g2p_iban",
    "bank_code": "g2p_bank_code",
    "branch_code": "g2p_branch_code",
    "wallet_provider": "g2p_wallet_provider",
    "phone": "g2p_phone",
    "email": "g2p_email",
    "holder_name": "acc_holder_name",
    "is_primary": "g2p_is_primary",
    "state": "g2p_state",
}
# RegistrantUpdate key -> res.partner field, for the plain values.
PARTNER_FIELDS = {
    "name": "name",
    "phone": "phone",
    "email": "email",
    "pay_via_head": "g2p_pay_via_head",
    "active": "active",
}
AccountState = Literal["unverified", "verified", "closed"]


#: A registrant as the registry answers it.
REGISTRANT_EXAMPLE = {
    "id": 42,
    "functional_id": "REG-2026-000123",
    "name": "Amina Wanjiru",
    "is_group": False,
    "active": True,
    "phone": "+254 711 000 101",
    "email": None,
    "country_code": "KE",
    "pay_via_head": True,
    "members": [],
    "accounts": [
        {
            "id": 7,
            "account_type": "mobile_wallet",
            "account_number": "+254711000101",
            "iban": None,
            "bank_bic": None,
            "bank_name": None,
            "bank_code": None,
            "branch_code": None,
            "wallet_provider": "M-Pesa",
            "phone": "+254711000101",
            "email": None,
            "holder_name": "Amina Wanjiru",
            "currency": "KES",
            "is_primary": True,
            "state": "verified",
            "active": True,
            "financial_address": "+254711000101@m-pesa",
        }
    ],
}
MAPPING_EXAMPLE = {
    "functional_id": "REG-2026-000123",
    "financial_address": "+254711000101@m-pesa",
    "account_type": "mobile_wallet",
    "bank_bic": None,
    "bank_name": None,
    "branch_code": None,
    "wallet_provider": "M-Pesa",
    "holder_name": "Amina Wanjiru",
    "account_id": 7,
}


class ErrorDetail(StrictExtendableBaseModel):
    """The body of every error: ``{"detail": {"code": ..., "message": ...}}``."""

    code: str = Field(examples=["FUNCTIONAL_ID_TAKEN"])
    message: str


class AccountIn(StrictExtendableBaseModel):
    """A bank or wallet account inside a registrant payload, upserted: it updates
    the registrant's account with the same IBAN, else the same account number at the
    same bank, else the same wallet provider and phone or email; otherwise it is
    added. ``remove`` archives the matching account."""

    account_type: AccountType = "bank_account"
    account_number: ShortText | None = Field(None, examples=["0532013000"])
    iban: Annotated[str, _text(42)] | None = Field(
        None, examples=["DE89370400440532013000"]
    )
    bank_bic: Annotated[str, _text(11)] | None = Field(None, examples=["DEUTDEFF"])
    bank_name: LongText | None = Field(None, examples=["Deutsche Bank"])
    bank_code: ShortText | None = Field(None, examples=["37040044"])
    branch_code: ShortText | None = None
    wallet_provider: ShortText | None = Field(None, examples=["M-Pesa"])
    phone: Annotated[str, _text(32)] | None = Field(None, examples=["+254 711 000 101"])
    email: LongText | None = None
    holder_name: LongText | None = None
    currency: CurrencyCode | None = None
    is_primary: bool | None = None
    state: AccountState | None = None
    remove: bool = Field(
        False, description="Archive the matching account (it must exist)."
    )

    @model_validator(mode="after")
    def _no_null_state(self):
        # An account always has a state: null would be written as no state at all.
        if "state" in self.model_fields_set and self.state is None:
            raise ValueError("state cannot be null")
        return self

    def to_res_partner_bank_vals(self):
        """``res.partner.bank`` values of the keys given (the account type always);
        the bank and the currency are looked up by the router helper. Extensions
        add their fields with ``super()``."""
        given = self.model_fields_set | {"account_type"}
        return {
            fname: getattr(self, key)
            for key, fname in ACCOUNT_FIELDS.items()
            if key in given
        }

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"iban": "DE89370400440532013000", "bank_bic": "DEUTDEFF"},
                {
                    "account_type": "mobile_wallet",
                    "wallet_provider": "M-Pesa",
                    "phone": "+254711000101",
                    "is_primary": True,
                },
            ]
        }
    }


class AccountOut(StrictExtendableBaseModel):
    id: int
    account_type: AccountType
    account_number: str
    iban: str | None = None
    bank_bic: str | None = None
    bank_name: str | None = None
    bank_code: str | None = None
    branch_code: str | None = None
    wallet_provider: str | None = None
    phone: str | None = None
    email: str | None = None
    holder_name: str | None = None
    currency: str | None = None
    is_primary: bool
    state: AccountState
    active: bool
    financial_address: str | None = Field(
        None, examples=["DE89370400440532013000@DEUTDEFF"]
    )

    @classmethod
    def from_res_partner_bank(cls, account):
        return cls(
            id=account.id,
            account_type=account.g2p_account_type,
            account_number=account.acc_number,
            iban=account.g2p_iban or None,
            bank_bic=account.bank_id.bic or None,
            bank_name=account.bank_id.name or None,
            bank_code=account.g2p_bank_code or None,
            branch_code=account.g2p_branch_code or None,
            wallet_provider=account.g2p_wallet_provider or None,
            phone=account.g2p_phone or None,
            email=account.g2p_email or None,
            holder_name=account.acc_holder_name or None,
            currency=account.currency_id.name or None,
            is_primary=account.g2p_is_primary,
            state=account.g2p_state,
            active=account.active,
            financial_address=account.g2p_financial_address or None,
        )


class MemberIn(StrictExtendableBaseModel):
    """A member of a group: a registered individual (it may be created earlier in
    the same bulk request)."""

    functional_id: FunctionalId
    is_head: bool = False


class MemberOut(StrictExtendableBaseModel):
    id: int
    functional_id: str
    name: str
    is_head: bool

    @classmethod
    def from_g2p_group_membership(cls, membership):
        return cls(
            id=membership.individual_id.id,
            functional_id=membership.individual_id.g2p_functional_id,
            name=membership.individual_id.name,
            is_head=membership.is_head,
        )


class RegistrantUpdate(StrictExtendableBaseModel):
    """A partial update: only the keys given are changed. ``members`` replaces the
    group's members; ``accounts`` are upserted (accounts not listed are kept)."""

    functional_id: FunctionalId | None = Field(
        None, description="Cannot be changed: when given it must be the current one."
    )
    name: Name | None = None
    phone: Annotated[str, _text(32)] | None = None
    email: LongText | None = None
    country_code: CountryCode | None = None
    pay_via_head: bool | None = None
    active: bool | None = None
    members: Annotated[list[MemberIn], Field(max_length=200)] | None = None
    accounts: Annotated[list[AccountIn], Field(max_length=20)] | None = None

    def to_res_partner_vals(self):
        """``res.partner`` values of the plain keys given (country, members and
        accounts are looked up by the router helper). Extensions add their fields
        with ``super()``."""
        given = self.model_fields_set
        return {
            fname: getattr(self, key)
            for key, fname in PARTNER_FIELDS.items()
            if key in given
        }

    @model_validator(mode="after")
    def _no_null_for_required_values(self):
        nulls = [
            fname
            for fname in ("functional_id", "name", "active", "pay_via_head")
            if fname in self.model_fields_set and getattr(self, fname) is None
        ]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "phone": "+254 711 000 999",
                    "accounts": [{"iban": "DE89370400440532013000", "state": "closed"}],
                }
            ]
        }
    }


class RegistrantIn(RegistrantUpdate):
    """An individual, or a group (``is_group``) with its members and head. Without
    a functional ID one is generated (bulk items need one: it makes replays safe)."""

    name: Name
    is_group: bool = False

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "functional_id": "REG-2026-000123",
                    "name": "Amina Wanjiru",
                    "country_code": "KE",
                    "accounts": [
                        {
                            "account_type": "mobile_wallet",
                            "wallet_provider": "M-Pesa",
                            "phone": "+254711000101",
                        }
                    ],
                },
                {
                    "functional_id": "HH-2026-000045",
                    "name": "Wanjiru household",
                    "is_group": True,
                    "members": [{"functional_id": "REG-2026-000123", "is_head": True}],
                },
            ]
        }
    }


class RegistrantOut(StrictExtendableBaseModel):
    id: int
    functional_id: str
    name: str
    is_group: bool
    active: bool
    phone: str | None = None
    email: str | None = None
    country_code: str | None = None
    pay_via_head: bool
    members: list[MemberOut] = []
    accounts: list[AccountOut] = []

    @classmethod
    def from_res_partner(cls, partner):
        return cls(
            id=partner.id,
            functional_id=partner.g2p_functional_id,
            name=partner.name,
            is_group=partner.is_group,
            active=partner.active,
            phone=partner.phone or None,
            email=partner.email or None,
            country_code=partner.country_id.code or None,
            pay_via_head=partner.g2p_pay_via_head,
            members=[
                MemberOut.from_g2p_group_membership(membership)
                for membership in partner.group_member_ids
            ],
            accounts=[
                AccountOut.from_res_partner_bank(account)
                for account in partner.with_context(active_test=False).bank_ids
            ],
        )

    model_config = {"json_schema_extra": {"examples": [REGISTRANT_EXAMPLE]}}


class RegistrantSearch(StrictExtendableBaseModel):
    """Search filters (query parameters), all optional and combined with AND."""

    name: LongText | None = Field(None, description="Part of the name.")
    functional_id: FunctionalId | None = None
    account_number: ShortText | None = Field(
        None, description="Account number, IBAN, wallet phone or email."
    )
    is_group: bool | None = None
    active: bool | None = Field(True, description="None for both.")


RegistrantPage = PagedCollection[RegistrantOut]


class BulkRegistrantRequest(StrictExtendableBaseModel):
    """Up to 1,000 registrants, upserted by functional ID: a new functional ID
    creates the registrant, a known one updates it (a replay changes nothing)."""

    registrants: list[RegistrantIn]

    @field_validator("registrants", mode="before")
    @classmethod
    def _at_most_max_items(cls, value):
        # Checked before the items are validated: a huge list is refused cheaply.
        if isinstance(value, list) and len(value) > MAX_BULK_ITEMS:
            raise ValueError(
                f"A bulk request carries at most {MAX_BULK_ITEMS} registrants, this "
                f"one has {len(value)}: split it into several requests."
            )
        if isinstance(value, list) and not value:
            raise ValueError("A bulk request needs at least one registrant.")
        return value

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "registrants": [
                        {
                            "functional_id": "REG-2026-000124",
                            "name": "Brian Otieno",
                            "accounts": [
                                {
                                    "account_number": "0123456789",
                                    "bank_name": "KCB Bank Kenya",
                                }
                            ],
                        },
                        {"functional_id": "REG-2026-000125", "name": "Carol Muthoni"},
                    ]
                }
            ]
        }
    }


BulkStatus = Literal["created", "updated", "unchanged", "error"]


class BulkItemResult(StrictExtendableBaseModel):
    index: int = Field(description="Position of the item in the request (from 0).")
    functional_id: str | None = None
    status: BulkStatus
    id: int | None = None
    error: ErrorDetail | None = None


class BulkResult(StrictExtendableBaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    items: list[BulkItemResult]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "created": 1,
                    "updated": 0,
                    "unchanged": 0,
                    "errors": 1,
                    "items": [
                        {
                            "index": 0,
                            "functional_id": "REG-2026-000124",
                            "status": "created",
                            "id": 43,
                            "error": None,
                        },
                        {
                            "index": 1,
                            "functional_id": "HH-2026-000046",
                            "status": "error",
                            "id": None,
                            "error": {
                                "code": "UNKNOWN_MEMBER",
                                "message": "No registered individual has the "
                                "functional ID REG-2026-999999.",
                            },
                        },
                    ],
                }
            ]
        }
    }


class FinancialAddressOut(StrictExtendableBaseModel):
    """Where and how a registrant is paid (GovStack account mapper): the primary
    account of its payee (the head of a group paid through its head)."""

    functional_id: str
    financial_address: str = Field(examples=["+254711000101@m-pesa"])
    account_type: AccountType
    bank_bic: str | None = None
    bank_name: str | None = None
    branch_code: str | None = None
    wallet_provider: str | None = None
    holder_name: str | None = None
    account_id: int

    @classmethod
    def from_res_partner_bank(cls, account, functional_id):
        return cls(
            functional_id=functional_id,
            financial_address=account.g2p_financial_address,
            account_type=account.g2p_account_type,
            bank_bic=account.bank_id.bic or None,
            bank_name=account.bank_id.name or None,
            branch_code=account.g2p_branch_code or None,
            wallet_provider=account.g2p_wallet_provider or None,
            holder_name=account.acc_holder_name or None,
            account_id=account.id,
        )

    model_config = {"json_schema_extra": {"examples": [MAPPING_EXAMPLE]}}


class ResolveRequest(StrictExtendableBaseModel):
    functional_ids: Annotated[
        list[FunctionalId], Field(min_length=1, max_length=MAX_BULK_ITEMS)
    ]

    model_config = {
        "json_schema_extra": {
            "examples": [{"functional_ids": ["REG-2026-000123", "REG-2026-999999"]}]
        }
    }


class ResolveItem(StrictExtendableBaseModel):
    functional_id: str
    found: bool
    mapping: FinancialAddressOut | None = None
    error: ErrorDetail | None = None


class ResolveResult(StrictExtendableBaseModel):
    items: list[ResolveItem]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "items": [
                        {
                            "functional_id": "REG-2026-000123",
                            "found": True,
                            "mapping": MAPPING_EXAMPLE,
                            "error": None,
                        },
                        {
                            "functional_id": "REG-2026-999999",
                            "found": False,
                            "mapping": None,
                            "error": {
                                "code": "REGISTRANT_NOT_FOUND",
                                "message": "No registrant has the functional ID "
                                "REG-2026-999999.",
                            },
                        },
                    ]
                }
            ]
        }
    }


class MappingIn(StrictExtendableBaseModel):
    """Map a registrant (by functional ID) to an account: the account is upserted
    on the registrant and becomes its primary account."""

    functional_id: FunctionalId
    account: AccountIn


class MappingRequest(StrictExtendableBaseModel):
    mappings: Annotated[list[MappingIn], Field(min_length=1, max_length=MAX_BULK_ITEMS)]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "mappings": [
                        {
                            "functional_id": "REG-2026-000125",
                            "account": {
                                "account_type": "email_wallet",
                                "wallet_provider": "PayPal",
                                "email": "carol@example.org",
                            },
                        }
                    ]
                }
            ]
        }
    }
