"""Authentication and authorisation of the suite's apps.

Each app depends on ``g2p_authenticated_env``; the endpoint record replaces it with
the implementation of its authentication method (``g2p_auth_method``). The resulting
environment runs as the authenticated user, whose groups decide what it may do.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, status

from odoo.api import Environment

from odoo.addons.auth_api_key.models.auth_api_key import AuthApiKey
from odoo.addons.base.models.res_users import Users
from odoo.addons.fastapi.dependencies import basic_auth_user, odoo_env
from odoo.addons.fastapi_auth_api_key.dependencies import authenticated_auth_api_key


def g2p_authenticated_env() -> Environment:
    """Replaced by the endpoint with one of the ``env_from_*`` functions below."""
    raise NotImplementedError


def env_from_api_key(
    api_key: Annotated[AuthApiKey, Depends(authenticated_auth_api_key)],
) -> Environment:
    return api_key.with_user(api_key.user_id).env


def env_from_basic_auth(
    user: Annotated[Users, Depends(basic_auth_user)],
    env: Annotated[Environment, Depends(odoo_env)],
) -> Environment:
    return env(user=user.id, su=False)


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


def registry_api_env(
    env: Annotated[Environment, Depends(g2p_authenticated_env)],
) -> Environment:
    return _require_group(env, "g2p_bank_rest_api.group_registry_api", "registry API")
