from psycopg2.extensions import (
    ISOLATION_LEVEL_READ_COMMITTED,
    TRANSACTION_STATUS_IDLE,
)

from odoo import models
from odoo.http import request

#: Apps whose requests run under READ COMMITTED (see ``IrHttp._authenticate``).
READ_COMMITTED_APPS = {"g2p_bank"}


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _authenticate(cls, endpoint):
        if endpoint.routing.get("type") == "fastapi":
            cls._g2p_set_isolation_level()
        return super()._authenticate(endpoint)

    @classmethod
    def _g2p_set_isolation_level(cls):
        """The bank app's requests run under READ COMMITTED.

        Under Odoo's REPEATABLE READ, a request that waits for an account's row
        (another request is changing its balances) fails as soon as the other one
        commits, and Odoo retries it after sleeping up to 2 s, then 4 s...: under a
        steady stream of requests on one account the workers slept half of the time.
        Under READ COMMITTED the locking statement waits, then checks the committed
        row again; every write of the bank's services locks its rows or is a
        conditional update, so it stays exact.

        The request's transaction has not started yet (authentication comes first):
        the connection's level applies from its first statement; Odoo sets it back
        to REPEATABLE READ for the next cursor on this connection. (Tests share one
        transaction, which cannot change its isolation.)
        """
        env = request.env
        if env.registry.in_test_mode():
            return
        endpoints = env["fastapi.endpoint"].sudo()
        root_path = endpoints._g2p_root_path(request.httprequest.path)
        if endpoints._g2p_app_of_root_path(root_path) not in READ_COMMITTED_APPS:
            return
        cr = env.cr
        connection = cr.connection
        if connection.info.transaction_status != TRANSACTION_STATUS_IDLE:
            # The lookup above was not cached yet and read the endpoints.
            cr.rollback()
        connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
