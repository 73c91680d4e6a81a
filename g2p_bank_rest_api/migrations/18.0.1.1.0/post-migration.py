from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Apps installed before 18.0.1.1.0 answered every request with a session cookie:
    API clients have no Odoo session. (The endpoint records are noupdate; their routes
    are registered again with the new setting.)"""
    env = api.Environment(cr, SUPERUSER_ID, {})
    endpoints = env["fastapi.endpoint"].search(
        [("app", "in", ("g2p_bank", "g2p_registry"))]
    )
    endpoints.write({"save_http_session": False})
    endpoints.action_sync_registry()
