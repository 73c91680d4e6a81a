"""Error responses that never turn into a random 500.

OCA's fastapi lets exceptions escape the ASGI app so that Odoo rolls back (and retries
serialization failures). a2wsgi, which bridges the app to WSGI, forwards such an
exception as a message sent *after* it marks the app as done; when the WSGI side sees
"done" first, it ends the response without ever starting it, and the dispatcher answers
500 whatever the error was (a 401, 403 or 422 then becomes a 500 now and then).

So our apps catch every exception at the edge of the ASGI app, finish a placeholder
response there, and hand the exception to the dispatcher, which raises it inside
Odoo's request transaction: Odoo rolls back, retries what it retries, and
``handle_error`` answers the right status, every time.

The bank app's requests run under READ COMMITTED (see ``FastApiDispatcher.dispatch``).
"""

from contextvars import ContextVar

from odoo.tools import SQL

from odoo.addons.extendable_fastapi.fastapi_dispatcher import (
    FastApiDispatcher as BaseFastApiDispatcher,
)

# The exceptions of the current request's app, set by the dispatcher (the ASGI task
# runs in a copy of the request thread's context: it sees the same list).
request_exceptions: ContextVar[list] = ContextVar("g2p_request_exceptions")

#: Apps whose requests run under READ COMMITTED (see FastApiDispatcher.dispatch).
READ_COMMITTED_APPS = {"g2p_bank"}


class CaptureExceptionsMiddleware:
    """ASGI middleware: keep the app's exceptions for the dispatcher."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        exceptions = request_exceptions.get(None)
        if scope["type"] != "http" or exceptions is None:
            return await self.app(scope, receive, send)
        response_started = False

        async def send_and_note(message):
            nonlocal response_started
            response_started |= message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as exception:
            if response_started:  # too late to answer anything else
                raise
            exceptions.append(exception)
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b""})


class FastApiDispatcher(BaseFastApiDispatcher):
    routing_type = "fastapi"

    def dispatch(self, endpoint, args):
        env = self.request.env
        # The bank app's requests run under READ COMMITTED. Under Odoo's REPEATABLE
        # READ, a request that waits for an account's row (another request is
        # changing its balances) fails as soon as the other one commits, and Odoo
        # retries it after sleeping up to 2 s, then 4 s...: under a steady stream of
        # requests on one account the workers slept half of the time. Under READ
        # COMMITTED the locking statement waits, then checks the committed row
        # again; every write of the bank's services locks its rows or is a
        # conditional update, so it stays exact. (Tests share one transaction,
        # which cannot change its isolation.)
        if not env.registry.in_test_mode():
            app = (
                env["fastapi.endpoint"]
                .sudo()
                ._get_endpoint(self.request.httprequest.path)
            )
            if app and app.app in READ_COMMITTED_APPS:
                env.cr.rollback()  # what ran so far only read
                env.reset()
                env.cr.execute(SQL("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"))
        exceptions = []
        token = request_exceptions.set(exceptions)
        try:
            response = super().dispatch(endpoint, args)
        finally:
            request_exceptions.reset(token)
        if exceptions:
            raise exceptions[0]
        return response
