"""Where the local data plane's server CPU goes, per authorized request: a diagnostic for
bench/local_dataplane.py's targets.

The server runs in a process of its own (as in `local_dataplane`), instrumented with
`time.thread_time`: the CPU of each request's thread (werkzeug's HTTP parsing and writing plus
the WSGI app), the WSGI app alone (guard, routing, authorizer, event, worker IPC, answer), and the
whole server process (which adds accepting connections, the kernel's share of it, and starting
a thread when every one is busy). The worker's own CPU is reported apart. Linux only (/proc).
Each request opens a connection of its own, or with --keep-alive all go on one persistent
connection.
Run: .venv/bin/python bench/dataplane_cpu_split.py [--requests 1000] [--keep-alive]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socketserver
import time
from collections.abc import Iterable
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

from local_dataplane import cpu_seconds, http_get, setup

from cogapi.local.server import LocalServer


def process_cpu(pid: int) -> float:
    """CPU seconds of one process (its exited threads included), not of its children."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(channel: Connection) -> None:
    totals = {"thread": 0.0, "app": 0.0}
    original = socketserver.ThreadingMixIn.process_request_thread

    def timed_thread(self: Any, request: Any, client_address: Any) -> None:
        started = time.thread_time()
        try:
            original(self, request, client_address)
        finally:
            totals["thread"] += time.thread_time() - started

    socketserver.ThreadingMixIn.process_request_thread = timed_thread  # type: ignore[method-assign]
    with LocalServer(port=0) as server:
        assert server._server is not None
        app = server._server.app

        def timed_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            started = time.thread_time()
            try:
                return list(app(environ, start_response))
            finally:
                totals["app"] += time.thread_time() - started

        server._server.app = timed_app
        secure, _open_url, id_token, _fn = setup(server)
        channel.send((secure, id_token))
        channel.recv()  # warmed up
        totals.update(thread=0.0, app=0.0)
        channel.send("counting")
        channel.recv()  # done
        channel.send(dict(totals))
        channel.recv()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--keep-alive", action="store_true", help="one persistent connection")
    args = parser.parse_args()
    n = args.requests
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(target=serve, args=(theirs,), daemon=True)
    server.start()
    try:
        secure, id_token = ours.recv()
        url = urlsplit(secure)
        for _ in range(50):
            assert http_get(url, id_token) == 200
        ours.send("warm")
        ours.recv()
        persistent = http.client.HTTPConnection(url.hostname or "", url.port)

        def kept_get() -> int:
            persistent.request("GET", url.path, headers={"Authorization": id_token})
            response = persistent.getresponse()
            response.read()
            return response.status

        get = kept_get if args.keep_alive else lambda: http_get(url, id_token)
        own_before, all_before = process_cpu(server.pid), cpu_seconds(server.pid)
        started = time.perf_counter()
        for _ in range(n):
            assert get() == 200
        elapsed = time.perf_counter() - started
        persistent.close()
        time.sleep(0.2)  # the connection's thread adds its CPU when the connection ends
        own, every = process_cpu(server.pid) - own_before, cpu_seconds(server.pid) - all_before
        ours.send("done")
        totals = ours.recv()
    finally:
        ours.send("stop")
        server.join(30)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{n} authorized requests, {n / elapsed:.0f} req/s; CPU per request (ms):")
    print(f"  server process            {own / n * 1000:6.2f}")
    print(f"    request threads         {totals['thread'] / n * 1000:6.2f}")
    print(f"      of which the WSGI app {totals['app'] / n * 1000:6.2f}")
    print(f"    accept, thread starts   {(own - totals['thread']) / n * 1000:6.2f}")
    print(f"  function worker           {(every - own) / n * 1000:6.2f}")


if __name__ == "__main__":
    main()
