"""How Odoo serves the FastAPI apps: in the request's own thread, in its transaction.

OCA's dispatcher bridges WSGI to the ASGI app with a2wsgi: the app runs on an event
loop in another thread, and Starlette runs every synchronous route and dependency in
yet another thread (anyio's pool). Odoo's workers serve one request at a time, so
those threads bring nothing but hand-overs, and they cost: a ``check_funds`` spent
more time handing over between three threads than in its own code. And a2wsgi
forwards an exception escaping the app as a message sent after it marks the app done:
when the WSGI side saw "done" first, a 401, 403 or 422 became a 500 now and then.

So our dispatcher runs the app to completion on an event loop of the request's thread
(``call_asgi_app``), the routes and dependencies of our apps are coroutines (they run
on that loop, without a thread pool), and an exception leaving the app is raised right
here, inside Odoo's request transaction: Odoo rolls back, retries what it retries, and
``handle_error`` answers the right status, every time.

The bank app's requests run under READ COMMITTED (see ``IrHttp._authenticate``).
"""

import asyncio
import threading
import weakref

from a2wsgi.asgi import build_scope

from odoo.addons.extendable_fastapi.fastapi_dispatcher import (
    FastApiDispatcher as BaseFastApiDispatcher,
)
from odoo.addons.fastapi.pools import fastapi_app_pool

_thread_loops = threading.local()


def _event_loop():
    """This thread's event loop: created once, closed when the thread is gone."""
    loop = getattr(_thread_loops, "loop", None)
    if loop is None:
        loop = _thread_loops.loop = asyncio.new_event_loop()
        weakref.finalize(threading.current_thread(), loop.close)
    return loop


def call_asgi_app(app, environ):
    """Run the ASGI ``app`` on this WSGI request; ``(status, headers, body)``.

    The whole body is handed to the app at once (Odoo has read it already); the
    response is collected whole (our answers are JSON or a statement file)."""
    body = environ["wsgi.input"].read()
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    response = {"status": 500, "headers": [], "body": []}

    async def receive():
        if messages:
            return messages.pop()
        # The request has been read: the client stays connected until we answer.
        await asyncio.Event().wait()

    async def send(message):
        if message["type"] == "http.response.start":
            response["status"] = message["status"]
            response["headers"] = [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in message.get("headers", ())
            ]
        elif message["type"] == "http.response.body":
            response["body"].append(message.get("body", b""))

    # The task runs in a copy of this thread's context: it sees the request, the Odoo
    # environment and the extendable registry set by the dispatchers.
    _event_loop().run_until_complete(app(build_scope(environ), receive, send))
    return response["status"], response["headers"], b"".join(response["body"])


class FastApiDispatcher(BaseFastApiDispatcher):
    routing_type = "fastapi"

    def dispatch(self, endpoint, args):
        with self._manage_extendable_context():
            # Starlette reads the body itself (as OCA's dispatcher).
            self.request.params = {}
            environ = self._get_environ()
            env = self.request.env
            endpoints = env["fastapi.endpoint"].sudo()
            # OCA's dispatcher pools the apps by the request's whole path: every new
            # path (/payments/<reference>...) built one more app, and kept it (20 ms
            # and 0.35 MB each). Ours pools them by the endpoint's root path.
            root_path = endpoints._g2p_root_path(environ["PATH_INFO"])
            with fastapi_app_pool.get_app(env=env, root_path=root_path) as app:
                uid = endpoints.get_uid(root_path)
                with self._manage_odoo_env(uid):
                    # The pool holds a2wsgi wrappers; ``.app`` is the ASGI app.
                    status, headers, body = call_asgi_app(app.app, environ)
        return self.request.make_response(body, headers=headers, status=status)
