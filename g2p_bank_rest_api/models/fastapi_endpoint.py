import logging
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from odoo import SUPERUSER_ID, _, api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.fastapi import dependencies as fastapi_dependencies
from odoo.addons.fastapi.middleware import ASGIMiddleware

from .. import dependencies
from ..routers.bank import bank_router
from ..routers.registry import registry_router

APP_DESCRIPTIONS = {
    "g2p_bank": "The sponsor bank: the OpenG2P example-bank contract (check_funds, "
    "block_funds, initiate_payment, generate_account_statement) and more.",
    "g2p_registry": "The registry: registrants (individuals and groups) with their "
    "bank and wallet accounts, in bulk, and the account mapper.",
}
#: Apps that must know who calls them: every request runs as the client's user.
APPS_REQUIRING_CREDENTIALS = {"g2p_registry"}
AUTH_IMPLEMENTATIONS = {
    "api_key": dependencies.env_from_api_key,
    "http_basic": dependencies.env_from_basic_auth,
    "none": dependencies.env_without_credentials,
}


async def _client_errors_logged_quietly(request, exc):
    """Hand ``exc`` on to Odoo's dispatcher, which answers it and rolls the
    transaction back (as with no handler). Odoo logs an exception at ERROR with its
    traceback unless it has a ``loglevel``: a 4xx answer is the client's mistake, in
    the access log with its status; at DEBUG here, not an error of the server."""
    if getattr(exc, "status_code", 422) < 500:
        exc.loglevel = logging.DEBUG
    raise exc


class FastapiEndpoint(models.Model):
    _inherit = "fastapi.endpoint"

    app = fields.Selection(
        selection_add=[
            ("g2p_bank", "G2P Bank API"),
            ("g2p_registry", "G2P Registry API"),
        ],
        ondelete={"g2p_bank": "cascade", "g2p_registry": "cascade"},
    )
    g2p_auth_method = fields.Selection(
        [
            ("api_key", "API key (header HTTP-API-KEY)"),
            ("http_basic", "HTTP basic (Odoo login and password)"),
            ("none", "No credentials (runs as the endpoint's user)"),
        ],
        string="Authentication",
        default="api_key",
        help="How clients of a G2P app authenticate. 'No credentials' exists for "
        "clients of the example-bank contract, which send none: every request then "
        "runs as the endpoint's technical user.",
    )

    @api.constrains("app", "g2p_auth_method")
    def _check_g2p_auth_method(self):
        for endpoint in self:
            if endpoint.app == "g2p_bank" and not endpoint.g2p_auth_method:
                raise ValidationError(
                    _(
                        "Choose how clients of %(name)s authenticate.",
                        name=endpoint.name,
                    )
                )

    @api.constrains("app", "g2p_auth_method")
    def _check_g2p_credentials_required(self):
        for endpoint in self:
            if (
                endpoint.app in APPS_REQUIRING_CREDENTIALS
                and endpoint.g2p_auth_method not in ("api_key", "http_basic")
            ):
                raise ValidationError(
                    _(
                        "Clients of %(name)s must authenticate: choose an API key or "
                        "HTTP basic.",
                        name=endpoint.name,
                    )
                )

    @api.model
    def _fastapi_app_fields(self) -> list[str]:
        # Changing one of them clears the caches below (and rebuilds the app).
        return super()._fastapi_app_fields() + [
            "app",
            "g2p_auth_method",
            "auth_api_key_group_id",
        ]

    # Facts read on every request, cached: reading the endpoint's record would cost
    # a query per request.
    @api.model
    def _g2p_root_path(self, path):
        """The root path of the endpoint serving the request path ``path``."""
        return self._find_first_matching_url_path(self._get_id_by_root_path_map(), path)

    @api.model
    @tools.ormcache("root_path")
    def _g2p_app_of_root_path(self, root_path):
        endpoint = self._get_endpoint(root_path)
        return endpoint.app if endpoint else None

    @tools.ormcache("self.id")
    def _g2p_api_key_group_id(self):
        return self.auth_api_key_group_id.id

    def _g2p_api_key_uid(self, key):
        """The user of the API key ``key`` if it may call this endpoint, else None.

        OCA's lookups are cached by key (a constant-time comparison with every key
        on a miss); keys of another group than the endpoint's are refused."""
        self.ensure_one()
        if not key.isascii():
            # No key is: OCA's comparison (hmac.compare_digest) raises TypeError on
            # text that is not ASCII (headers are read as latin-1).
            return None
        keys = self.env(user=SUPERUSER_ID, su=True)["auth.api.key"]
        try:
            key_id = keys._retrieve_api_key_id(key)
            uid = keys._retrieve_uid_from_api_key(key)
        except ValidationError:
            return None
        group_id = self._g2p_api_key_group_id()
        if group_id:
            in_group = self.env.execute_query(
                SQL(
                    "SELECT 1 FROM auth_api_key_group_rel"
                    " WHERE key_id = %s AND group_id = %s",
                    key_id,
                    group_id,
                )
            )
            if not in_group:
                return None
        return uid

    @api.model
    def get_app(self, path):
        """Our apps are served by themselves at their root path: OCA mounts each
        app in a second FastAPI app, and every request went through both
        middleware stacks."""
        endpoint = self._get_endpoint(path)
        if not endpoint or endpoint.app not in APP_DESCRIPTIONS:
            return super().get_app(path)
        app = endpoint._get_app()
        app.root_path = endpoint.root_path  # as the mount did: routes, docs
        self._clear_fastapi_exception_handlers(app)
        app.add_exception_handler(HTTPException, _client_errors_logged_quietly)
        app.add_exception_handler(RequestValidationError, _client_errors_logged_quietly)
        return ASGIMiddleware(app)

    def _get_fastapi_routers(self):
        if self.app == "g2p_bank":
            return [bank_router]
        if self.app == "g2p_registry":
            return [registry_router]
        return super()._get_fastapi_routers()

    def _get_app_dependencies_overrides(self):
        overrides = super()._get_app_dependencies_overrides()
        if self.app in APP_DESCRIPTIONS:
            overrides[dependencies.g2p_authenticated_env] = AUTH_IMPLEMENTATIONS[
                self.g2p_auth_method
            ]
            # OCA's dependencies as coroutines: they run on the request's event
            # loop, not in a thread pool (see ``fastapi_dispatcher``).
            overrides.update(
                {
                    fastapi_dependencies.odoo_env: dependencies.request_env,
                    fastapi_dependencies.fastapi_endpoint: dependencies.endpoint,
                    fastapi_dependencies.accept_language: dependencies.constant(None),
                    fastapi_dependencies.fastapi_endpoint_id: dependencies.constant(
                        self.id
                    ),
                    fastapi_dependencies.company_id: dependencies.constant(
                        self.company_id.id
                    ),
                }
            )
        return overrides

    def _prepare_fastapi_app_params(self) -> dict[str, Any]:
        params = super()._prepare_fastapi_app_params()
        if self.app in APP_DESCRIPTIONS:
            params["version"] = "1.0"
            params["description"] = self.description or APP_DESCRIPTIONS[self.app]
        return params
