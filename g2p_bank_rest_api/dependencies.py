"""Authentication and authorisation of the suite's apps.

Each app depends on ``g2p_authenticated_env``; the endpoint record replaces it with
the implementation of its authentication method (``g2p_auth_method``). The resulting
environment runs as the authenticated user, whose groups decide what it may do.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBasicCredentials

from odoo.api import Environment

from odoo.addons.fastapi.dependencies import (
    basic_auth_user,
    fastapi_endpoint,
    odoo_env,
)
from odoo.addons.fastapi.models.fastapi_endpoint import FastapiEndpoint
from odoo.addons.fastapi_auth_api_key.dependencies import (
    HTTP_API_KEY_HEADER,
    authenticated_auth_api_key,
)


def g2p_authenticated_env() -> Environment:
    """Replaced by the endpoint with one of the ``env_from_*`` functions below."""
    raise NotImplementedError


def env_without_credentials(
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


def bank_api_env(
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


def env_from_api_key(
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
    try:
        api_key = authenticated_auth_api_key(key, env, endpoint)
    except HTTPException as error:
        raise _unauthorized(
            "This API key is not valid for this API.", HTTP_API_KEY_HEADER
        ) from error
    return api_key.with_user(api_key.user_id).env


def env_from_basic_auth(
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


def registry_api_env(
    env: Annotated[Environment, Depends(g2p_authenticated_env)],
) -> Environment:
    return _require_group(env, "g2p_bank_rest_api.group_registry_api", "registry API")
