from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from odoo import models
from odoo.http import request

from odoo.addons.g2p_bank_simulator.transactions import read_committed

#: Apps whose requests run under READ COMMITTED (see ``IrHttp._authenticate``).
READ_COMMITTED_APPS = {"g2p_bank"}


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _authenticate(cls, endpoint):
        if endpoint.routing.get("type") == "fastapi":
            cls._g2p_set_isolation_level()
            if endpoint.routing.get("auth") == "public" and request.env.uid is None:
                # The public user's id from ir.model.data's cache, as Odoo's
                # _auth_method_public would set it, without the query by which
                # env.ref checks on every request that the user still exists.
                public_uid = request.env["ir.model.data"]._xmlid_to_res_id(
                    "base.public_user"
                )
                request.update_env(user=public_uid)
        return super()._authenticate(endpoint)

    @classmethod
    def _g2p_set_isolation_level(cls):
        """The bank app's requests run under READ COMMITTED, as the bank's jobs (see
        ``g2p_bank_simulator.transactions``): a request waiting for an account's row
        reads it once the other request commits, instead of failing and being retried
        by Odoo after a sleep of up to 2 s, then 4 s...

        The request's transaction has not started yet (authentication comes first).
        (Tests share one transaction, which cannot change its isolation.)
        """
        env = request.env
        if env.registry.in_test_mode():
            return
        endpoints = env["fastapi.endpoint"].sudo()
        root_path = endpoints._g2p_root_path(request.httprequest.path)
        if endpoints._g2p_app_of_root_path(root_path) not in READ_COMMITTED_APPS:
            return
        cr = env.cr
        if cr.connection.info.transaction_status != TRANSACTION_STATUS_IDLE:
            # The lookup above was not cached yet and read the endpoints.
            cr.rollback()
        read_committed(cr)
