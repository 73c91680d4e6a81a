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

Serialization failures of the bank app are retried once at once, under READ
COMMITTED (see ``FastApiDispatcher.dispatch``).
"""

from contextvars import ContextVar

from psycopg2.errors import SerializationFailure

from odoo.tools import SQL

from odoo.addons.extendable_fastapi.fastapi_dispatcher import (
    FastApiDispatcher as BaseFastApiDispatcher,
)

# The exceptions of the current request's app, set by the dispatcher (the ASGI task
# runs in a copy of the request thread's context: it sees the same list). The
# middleware adds the marker READ_COMMITTED_RETRY when its app allows that retry.
request_exceptions: ContextVar[list] = ContextVar("g2p_request_exceptions")
READ_COMMITTED_RETRY = object()


class CaptureExceptionsMiddleware:
    """ASGI middleware: keep the app's exceptions for the dispatcher.

    ``read_committed_retry``: the app's writes are guarded by row locks or
    conditional updates, which READ COMMITTED re-checks on the latest committed row.
    """

    def __init__(self, app, read_committed_retry=False):
        self.app = app
        self.read_committed_retry = read_committed_retry

    async def __call__(self, scope, receive, send):
        exceptions = request_exceptions.get(None)
        if scope["type"] != "http" or exceptions is None:
            return await self.app(scope, receive, send)
        if self.read_committed_retry:
            exceptions.append(READ_COMMITTED_RETRY)
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
        exceptions = []
        try:
            return self._dispatch_capturing(endpoint, args, exceptions)
        except SerializationFailure:
            # Another request changed the same row (an account's balances) and
            # committed while this one waited for its lock: under Odoo's REPEATABLE
            # READ, whoever waits for an account fails. Odoo retries after sleeping
            # up to 2 s, then 4 s, ... and the next try waits and fails the same way
            # under a steady stream of requests on one account (the workers slept
            # half of the time). Retried at once under READ COMMITTED, the locking
            # statement waits, then sees the committed row and checks it again.
            env = self.request.env
            # (Tests share one transaction, which cannot change its isolation.)
            if READ_COMMITTED_RETRY not in exceptions or env.registry.in_test_mode():
                raise
            env.cr.rollback()
            env.reset()
            env.registry.reset_changes()
            env.cr.execute(SQL("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"))
            return self._dispatch_capturing(endpoint, args, [])

    def _dispatch_capturing(self, endpoint, args, exceptions):
        token = request_exceptions.set(exceptions)
        try:
            response = super().dispatch(endpoint, args)
        finally:
            request_exceptions.reset(token)
        errors = [e for e in exceptions if e is not READ_COMMITTED_RETRY]
        if errors:
            raise errors[0]
        return response
