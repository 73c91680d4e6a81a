import io
import threading
from contextvars import ContextVar

from odoo.tests import BaseCase

from ..fastapi_dispatcher import call_asgi_app

seen_by_app: ContextVar[str] = ContextVar("seen_by_app")


def environ(path="/api/v1/x/echo", body=b""):
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "a=1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8069",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/octet-stream",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_TEST": "yes",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }


async def echo_app(scope, receive, send):
    """Answers what it was given: the body, the thread and the context it ran in."""
    message = await receive()
    headers = dict(scope["headers"])
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"x-thread", str(threading.get_ident()).encode()),
                (b"x-context", seen_by_app.get("unset").encode()),
                (b"x-header", headers[b"x-test"]),
                (b"x-query", scope["query_string"]),
            ],
        }
    )
    await send({"type": "http.response.body", "body": message["body"][:4]})
    await send({"type": "http.response.body", "body": message["body"][4:]})


async def failing_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 500, "headers": []})
    raise ValueError("bad input")


class TestCallAsgiApp(BaseCase):
    def test_runs_the_app_in_this_thread_with_its_context(self):
        body = b"x" * 3_000_000 + b"end"  # an initiate_payment of 10,000 is ~3 MB
        token = seen_by_app.set("the request's")
        try:
            status, headers, answer = call_asgi_app(echo_app, environ(body=body))
        finally:
            seen_by_app.reset(token)
        self.assertEqual(status, 201)
        self.assertEqual(answer, body, "the whole body, in order")
        headers = dict(headers)
        self.assertEqual(headers["x-thread"], str(threading.get_ident()))
        self.assertEqual(headers["x-context"], "the request's")
        self.assertEqual(headers["x-header"], "yes")
        self.assertEqual(headers["x-query"], "a=1")

    def test_an_exception_reaches_the_caller(self):
        """Odoo's request then rolls back and answers the error's own status (with
        a2wsgi it was sometimes a 500 whatever the error)."""
        with self.assertRaisesRegex(ValueError, "bad input"):
            call_asgi_app(failing_app, environ())
        # The thread's loop serves the next request.
        status, _headers, answer = call_asgi_app(echo_app, environ(body=b"next"))
        self.assertEqual((status, answer), (201, b"next"))
