"""Authentication and authorisation of the suite's apps.

Each app depends on ``g2p_authenticated_env``; the endpoint record replaces it with
the implementation of its authentication method (``g2p_auth_method``). The resulting
environment runs as the authenticated user, whose groups decide what it may do.

All are coroutines, as OCA's dependencies the endpoint replaces by those below
(``odoo_env``...): FastAPI would run a plain function in a thread pool, and our
dispatcher runs each request's app on its own thread's event loop (see
``fastapi_dispatcher``).
"""

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBasicCredentials

from odoo.api import Environment

from odoo.addons.fastapi.context import odoo_env_ctx
from odoo.addons.fastapi.dependencies import (
    basic_auth_user,
    company_id,
    fastapi_endpoint,
    fastapi_endpoint_id,
    odoo_env,
)
from odoo.addons.fastapi.models.fastapi_endpoint import FastapiEndpoint
from odoo.addons.fastapi_auth_api_key.dependencies import HTTP_API_KEY_HEADER


def constant(value):
    """A dependency answering ``value`` (the endpoint's id, its company...)."""

    async def dependency():
        return value

    return dependency


async def request_env(
    company: Annotated[int | None, Depends(company_id)],
) -> Environment:
    """OCA's ``odoo_env``: the request's environment, in the endpoint's company."""
    env = odoo_env_ctx.get()
    if company is not None:
        env = env(context=dict(env.context, allowed_company_ids=[company]))
    return env


async def endpoint(
    endpoint_id: Annotated[int, Depends(fastapi_endpoint_id)],
    env: Annotated[Environment, Depends(odoo_env)],
) -> FastapiEndpoint:
    """OCA's ``fastapi_endpoint``: the endpoint's record."""
    return env["fastapi.endpoint"].browse(endpoint_id)


async def g2p_authenticated_env() -> Environment:
    """Replaced by the endpoint with one of the ``env_from_*`` functions below."""
    raise NotImplementedError


async def env_without_credentials(
    env: Annotated[Environment, Depends(odoo_env)],
) -> Environment:
    """The endpoint's own technical user: for clients of the example-bank contract,
    which send no credentials (off unless an administrator chooses it)."""
    return env


def _require_group(env, group_xmlid, app_name):
    if not env.user.has_group(group_xmlid):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={
                "code": "FORBIDDEN",
                "message": f"User {env.user.login!r} may not use the {app_name}: "
                f"it needs the group {group_xmlid!r}.",
            },
        )
    return env


async def bank_api_env(
    env: Annotated[Environment, Depends(g2p_authenticated_env)],
) -> Environment:
    return _require_group(env, "g2p_bank_rest_api.group_bank_api", "bank API")


# The authentications answer 401 with the error contract's body
# ``{"detail": {"code": "UNAUTHORIZED", "message": ...}}``, saying what is missing.


def _unauthorized(message, scheme):
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail={"code": "UNAUTHORIZED", "message": message},
        headers={"WWW-Authenticate": scheme},
    )


async def env_from_api_key(
    key: Annotated[
        str | None, Depends(APIKeyHeader(name=HTTP_API_KEY_HEADER, auto_error=False))
    ],
    env: Annotated[Environment, Depends(odoo_env)],
    endpoint: Annotated[FastapiEndpoint, Depends(fastapi_endpoint)],
) -> Environment:
    if not key:
        raise _unauthorized(
            f"Send your API key in the {HTTP_API_KEY_HEADER} header.",
            HTTP_API_KEY_HEADER,
        )
    # As OCA's authenticated_auth_api_key, from cached facts (no query per request).
    uid = endpoint.sudo()._g2p_api_key_uid(key)
    if not uid:
        raise _unauthorized(
            "This API key is not valid for this API.", HTTP_API_KEY_HEADER
        )
    return env(user=uid, su=False)


async def env_from_basic_auth(
    credentials: Annotated[
        HTTPBasicCredentials | None, Depends(HTTPBasic(auto_error=False))
    ],
    env: Annotated[Environment, Depends(odoo_env)],
) -> Environment:
    if not credentials:
        raise _unauthorized("Send your login and password (HTTP basic).", "Basic")
    try:
        user = basic_auth_user(credentials, env)
    except HTTPException as error:
        raise _unauthorized("Wrong login or password.", "Basic") from error
    return env(user=user.id, su=False)


async def registry_api_env(
    env: Annotated[Environment, Depends(g2p_authenticated_env)],
) -> Environment:
    return _require_group(env, "g2p_bank_rest_api.group_registry_api", "registry API")
