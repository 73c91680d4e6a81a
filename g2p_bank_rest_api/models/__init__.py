from . import auth_api_key
from . import fastapi_endpoint
from . import g2p_bank_api_router_helper
from . import g2p_registry_api_router_helper
from . import g2p_registry_upsert
from . import ir_http
from . import res_lang
