from typing import Any

from starlette.middleware import Middleware

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .. import dependencies
from ..fastapi_dispatcher import CaptureExceptionsMiddleware
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
        return super()._fastapi_app_fields() + ["g2p_auth_method"]

    def _get_fastapi_app_middlewares(self):
        middlewares = super()._get_fastapi_app_middlewares()
        if self.app in APP_DESCRIPTIONS:
            middlewares.append(Middleware(CaptureExceptionsMiddleware))
        return middlewares

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
        return overrides

    def _prepare_fastapi_app_params(self) -> dict[str, Any]:
        params = super()._prepare_fastapi_app_params()
        if self.app in APP_DESCRIPTIONS:
            params["version"] = "1.0"
            params["description"] = self.description or APP_DESCRIPTIONS[self.app]
        return params
