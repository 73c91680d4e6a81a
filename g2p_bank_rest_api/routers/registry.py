"""The registry app's routes: thin, each validates, calls one use case, answers.

Errors answer ``{"detail": {"code": ..., "message": ...}}`` with a stable code
(see the addon's readme); malformed requests answer 422 with pydantic's details.
Routes are coroutines that call the ORM without awaiting (see ``routers/bank.py``).
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from odoo.api import Environment

from ..dependencies import registry_api_env
from ..routing import G2PRoute
from ..schemas.errors import error_responses
from ..schemas.registry import (
    PRINTABLE,
    REGISTRANT_EXAMPLE,
    BulkRegistrantRequest,
    BulkResult,
    FinancialAddressOut,
    FunctionalId,
    MappingRequest,
    RegistrantIn,
    RegistrantOut,
    RegistrantPage,
    RegistrantSearch,
    RegistrantUpdate,
    ResolveRequest,
    ResolveResult,
)

registry_router = APIRouter(
    route_class=G2PRoute, tags=["registry"], responses=error_responses(401, 403, 422)
)
NOT_FOUND = error_responses(
    404, e404=("REGISTRANT_NOT_FOUND", "No registrant has the id 42.")
)
RegistryEnv = Annotated[Environment, Depends(registry_api_env)]
RegistrantId = Annotated[int, Path(ge=1, le=2**31 - 1, examples=[42])]
AccountId = Annotated[int, Path(ge=1, le=2**31 - 1, examples=[7])]
MAX_PAGE_SIZE = 200


def _helper(env):
    return env["g2p.registry.api.router.helper"]


@registry_router.post(
    "/registrants",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(
        400,
        409,
        e409=(
            "FUNCTIONAL_ID_TAKEN",
            "Functional ID 'REG-2026-000123' is already registered.",
        ),
    ),
)
async def create_registrant(data: RegistrantIn, env: RegistryEnv) -> RegistrantOut:
    """Register an individual, or a group with its members (registered
    individuals, named by functional ID) and head, with their accounts.

    409 `FUNCTIONAL_ID_TAKEN` when the functional ID is already used."""
    return _helper(env).create_registrant(data)


@registry_router.get(
    "/registrants",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"count": 1, "items": [REGISTRANT_EXAMPLE]}
                }
            }
        }
    },
)
async def search_registrants(
    env: RegistryEnv,
    name: Annotated[
        str | None, Query(max_length=256, pattern=PRINTABLE, examples=["wanjiru"])
    ] = None,
    functional_id: Annotated[
        str | None,
        Query(max_length=20, pattern=PRINTABLE, examples=["REG-2026-000123"]),
    ] = None,
    account_number: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, examples=["+254711000101"])
    ] = None,
    is_group: Annotated[bool | None, Query(examples=[False])] = None,
    active: Annotated[
        Literal["true", "false", "all"],
        Query(
            description="Active (default), archived or all registrants.",
            examples=["all"],
        ),
    ] = "true",
    page: Annotated[int, Query(ge=1, le=2**31 - 1, examples=[1])] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, examples=[50])] = 50,
) -> RegistrantPage:
    """Registrants matching all the filters given, by id; `count` is the total."""
    try:
        filters = RegistrantSearch(
            name=name,
            functional_id=functional_id,
            account_number=account_number,
            is_group=is_group,
            active={"true": True, "false": False, "all": None}[active],
        )
    except ValidationError as error:
        # The filters' own rules (e.g. a functional ID of blanks only) are the
        # query's: a malformed query is 422, like any other.
        raise RequestValidationError(
            [
                {**e, "loc": ("query", *e["loc"])}
                for e in error.errors(include_url=False)
            ]
        ) from error
    return _helper(env).search_registrants(
        filters, limit=page_size, offset=(page - 1) * page_size
    )


@registry_router.get(
    "/registrants/by-functional-id/{functional_id:path}", responses=NOT_FOUND
)
async def get_registrant_by_functional_id(
    functional_id: Annotated[FunctionalId, Path()], env: RegistryEnv
) -> RegistrantOut:
    """The registrant with this functional ID (404 `REGISTRANT_NOT_FOUND`)."""
    return _helper(env).get_by_functional_id(functional_id)


@registry_router.get("/registrants/{registrant_id}", responses=NOT_FOUND)
async def get_registrant(
    registrant_id: RegistrantId, env: RegistryEnv
) -> RegistrantOut:
    """The registrant with this id (404 `REGISTRANT_NOT_FOUND`)."""
    return _helper(env).get_registrant(registrant_id)


@registry_router.patch(
    "/registrants/{registrant_id}",
    responses=error_responses(
        400,
        404,
        409,
        e404=("REGISTRANT_NOT_FOUND", "No registrant has the id 42."),
        e409=(
            "FUNCTIONAL_ID_IMMUTABLE",
            "The functional ID of a registrant cannot change.",
        ),
    ),
)
async def update_registrant(
    registrant_id: RegistrantId, data: RegistrantUpdate, env: RegistryEnv
) -> RegistrantOut:
    """Change only the keys given. Accounts are upserted (`"remove": true`
    archives one, `"state": "closed"` closes it); `members` replaces the members.
    The functional ID cannot change (409 `FUNCTIONAL_ID_IMMUTABLE`)."""
    return _helper(env).update_registrant(registrant_id, data)


@registry_router.delete(
    "/registrants/{registrant_id}/accounts/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        404, e404=("ACCOUNT_NOT_FOUND", "Account 7 of registrant 42 does not exist.")
    ),
)
async def remove_account(
    registrant_id: RegistrantId, account_id: AccountId, env: RegistryEnv
) -> Response:
    """Remove an account: it is archived (kept for the audit trail)."""
    _helper(env).remove_account(registrant_id, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@registry_router.post("/registrants/bulk", responses=error_responses(400))
async def bulk_upsert(request: BulkRegistrantRequest, env: RegistryEnv) -> BulkResult:
    """Create or update up to 1,000 registrants by functional ID (required here).

    Each item succeeds or fails alone; the answer gives each item's status
    (`created`, `updated`, `unchanged`, `error` with code and message). Replaying a
    request changes nothing and answers `unchanged`."""
    return _helper(env).bulk_upsert(request)


@registry_router.get("/mapper/{functional_id:path}", responses=NOT_FOUND)
async def get_mapping(
    functional_id: Annotated[FunctionalId, Path()], env: RegistryEnv
) -> FinancialAddressOut:
    """Resolve a functional ID to the financial address it is paid at
    (404 `REGISTRANT_NOT_FOUND` or `NO_PAYMENT_ACCOUNT`)."""
    return _helper(env).get_mapping(functional_id)


@registry_router.post("/mapper/resolve", responses=error_responses(400))
async def resolve_mappings(request: ResolveRequest, env: RegistryEnv) -> ResolveResult:
    """Resolve up to 1,000 functional IDs at once."""
    return _helper(env).resolve(request.functional_ids)


@registry_router.post("/mapper", responses=error_responses(400))
async def register_mappings(request: MappingRequest, env: RegistryEnv) -> BulkResult:
    """Map registrants to the account they are paid on (upserted, made primary).
    An item of a registrant already mapped to another account fails with
    `ALREADY_MAPPED`."""
    return _helper(env).register_mappings(request)


@registry_router.put("/mapper", responses=error_responses(400))
async def update_mappings(request: MappingRequest, env: RegistryEnv) -> BulkResult:
    """Map registrants to another account (upserted, made primary). An item of a
    registrant not mapped yet fails with `NOT_MAPPED`."""
    return _helper(env).register_mappings(request, replace=True)
