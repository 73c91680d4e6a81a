from odoo import http
from odoo.http import request

from ..models.g2p_payment_statement import (
    StatementImportedMeanwhile,
    StatementRefused,
)


class G2PStatementUpload(http.Controller):
    """Where a bank pushes its MT940 statements (as the example bank pushes to the
    G2P Bridge): multipart form, field ``statement_file``. The secret token in the
    URL names the connector; a statement already received is not imported again."""

    @http.route(
        "/g2p_payment_batch/statement/<string:token>",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,  # auth="none" routes are read-only by default: this one writes
    )
    def upload_statement(self, token, statement_file=None, **_kwargs):
        env = request.env(su=True)
        connector = env["g2p.bank.connector"].search(
            [("upload_token", "=", token)], limit=1
        )
        if not connector or not token:
            return request.make_response("unknown connector", status=404)
        if statement_file is None:
            return request.make_response("no statement_file", status=400)
        try:
            # Odoo may dispatch a request again (concurrency retry): read it all.
            statement_file.seek(0)
            text = statement_file.read().decode("ascii")
        except UnicodeDecodeError:
            return request.make_response("not an MT940 text file", status=400)
        statements = env["g2p.payment.statement"]
        try:
            statement = statements._import_text(text, "push", connector)
        except StatementImportedMeanwhile:
            # Fetched by a batch while it was pushed: received, as the bank wants
            # to know (it would otherwise record its push as refused).
            statement = statements
        except StatementRefused as error:
            return request.make_response(error.args[0], status=400)
        if statement.state == "received":
            statement.with_delay(
                channel="root.g2p_payment_batch",
                identity_key=f"g2p_payment_statement_reconcile_{statement.id}",
                description=f"Reconcile statement {statement.display_name}",
            )._job_reconcile()
        return request.make_response("ok", headers=[("Content-Type", "text/plain")])
