"""One lean HTTP load client, the same for both systems of the side-by-side bench.

Threads (one per client) each own one ``http.client`` connection and reuse it as long
as the server keeps it alive (HTTP/1.1 keep-alive; a server that closes it after each
answer, such as Odoo's HTTP/1.0 workers, costs a reconnect per request). The request
bodies are encoded before the clock starts, so the client spends its CPU on the wire:
it shares the machine's cores with the server it measures.
"""

import http.client
import json
import socket
import statistics
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def _percentile(sorted_values, fraction):
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def run(
    url,
    bodies,
    clients=1,
    requests=None,
    duration=None,
    headers=None,
    keep_answers=False,
    warmup=0,
    method="POST",
):
    """POST ``bodies`` (a list of JSON-able values, or one value for all) to ``url``
    (``method="GET"``: no body, ``bodies`` None).

    Stops after ``requests`` requests in all, or after ``duration`` seconds. The first
    ``warmup`` requests of each client are sent but not counted. Returns a dict:
    ``requests``, ``seconds``, ``rps``, ``p50_ms``, ``p99_ms``, ``statuses`` (status
    code → count, ``"error"`` for connection failures) and, with ``keep_answers``,
    ``answers``: the decoded JSON answers in the order they came back.
    """
    if requests is None and duration is None:
        raise ValueError("give a request count or a duration")
    if not isinstance(bodies, list):
        bodies = [bodies]
    encoded = [None if body is None else json.dumps(body).encode() for body in bodies]
    parts = urlsplit(url)
    path = parts.path or "/"
    head = {"Content-Type": "application/json", **(headers or {})}
    lock = threading.Lock()
    state = {"next": 0}
    latencies, answers, statuses = [], [], Counter()
    barrier = threading.Barrier(clients + 1)

    def take():
        """The index of the next body to send, or None when the run is over."""
        with lock:
            index = state["next"]
            if requests is not None and index >= requests:
                return None
            if duration is not None and time.perf_counter() >= state.get("end", 1e18):
                return None
            state["next"] = index + 1
            return index

    def client():
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        mine, my_answers, my_statuses = [], [], Counter()
        for index in range(warmup):
            _send(connection, method, path, encoded[index % len(encoded)], head)
        barrier.wait()
        while (index := take()) is not None:
            start = time.perf_counter()
            try:
                code, payload = _send(
                    connection, method, path, encoded[index % len(encoded)], head
                )
            except (OSError, http.client.HTTPException):
                connection.close()
                my_statuses["error"] += 1
                continue
            mine.append(time.perf_counter() - start)
            my_statuses[code] += 1
            if keep_answers:
                my_answers.append(json.loads(payload) if payload else None)
        connection.close()
        with lock:
            latencies.extend(mine)
            answers.extend(my_answers)
            statuses.update(my_statuses)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    if duration is not None:
        state["end"] = start + duration
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    latencies.sort()
    done = len(latencies)
    result = {
        "clients": clients,
        "requests": done,
        "seconds": seconds,
        "rps": done / seconds if seconds else 0.0,
        "p50_ms": 1000 * _percentile(latencies, 0.50),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else 0.0,
        "statuses": dict(statuses),
    }
    if keep_answers:
        result["answers"] = answers
    return result


def _send(connection, method, path, body, headers):
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    if response.will_close:
        connection.close()  # reconnects on the next request
    return response.status, payload


def post_json(url, body, headers=None, timeout=600):
    """One POST; ``(status, decoded JSON or text)``: for setup and checks."""
    return request_json("POST", url, body, headers, timeout)


def request_json(method, url, body=None, headers=None, timeout=600):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        head = {"Content-Type": "application/json", **(headers or {})}
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, parts.path, body=data, headers=head)
        response = connection.getresponse()
        payload = response.read().decode()
    finally:
        connection.close()
    try:
        return response.status, json.loads(payload)
    except ValueError:
        return response.status, payload


def require_free_port(port, what):
    """Stop when something already listens on 127.0.0.1:``port``: a system that fails
    to bind its port would otherwise be measured on whatever answers there."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(
                f"port {port} is already served by another process: stop it, or give "
                f"{what} another port"
            )
