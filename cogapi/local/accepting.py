"""`AcceptingThreadsServer`: werkzeug's threaded server, with connections accepted by the
threads that serve them.

socketserver's loop accepts in one thread and hands each connection to another: two thread
wake-ups, and a GIL handoff, before a request is read. On the data plane, where clients such as
the benchmark open a connection per request, that was a good part of the server's overhead and
of its latency tail on a busy machine (every wake-up is a chance to be scheduled late). Here each
thread waits in `accept()` itself, serves the connection it got, then waits again:
- Whenever a thread takes a connection and no other is left waiting, it first starts one, so
  the next connection never waits for a busy thread: concurrency is unbounded, as with
  werkzeug's thread per connection. A thread holds its connection for as long as it stays open
  (a kept-alive data-plane connection until it closes or goes quiet: `dataplane_http`).
- On Linux the listening socket defers accepting (`TCP_DEFER_ACCEPT`) until the client's first
  bytes have arrived, which saves a thread another wake-up per connection.
- At most `SPARE` threads wait at a time; one that finishes a connection beyond that ends.
  Blocking `accept()` wakes one waiter per connection (Linux queues them exclusively), so the
  spares cost nothing while the server is quiet.
- `shutdown()` wakes the waiting threads (`shutdown(2)` on the listening socket where the OS
  allows it, else a connection of its own per waiter) and returns once they have ended, so the
  port is free when it returns; `server_close()` also ends the connections still open, and
  `join_threads()` waits for the threads that were serving them (a thread in a handler ends
  once its function's worker has been stopped, which is why that is a separate step).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from werkzeug.serving import ThreadedWSGIServer

from cogapi.local.slices import ask_for_short_slices


class AcceptingThreadsServer(ThreadedWSGIServer):
    """See the module docstring."""

    SPARE = 4  # threads left waiting in accept() once the connections they served have ended

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._closing = False
        self._waiting: set[threading.Thread] = set()  # threads in accept()
        # every thread of ours still running (`_threads` is socketserver's)
        self._running: set[threading.Thread] = set()
        self._open: set[socket.socket] = set()  # connections being served
        self._stopping = threading.Event()  # set by `shutdown()` and `server_close()`
        self._done = threading.Event()  # set when `serve_forever` has returned
        # Linux: accept() returns once the client has sent its request, not at the handshake,
        # so a thread wakes once per connection instead of twice (accept, then read). A client
        # that sends nothing is accepted after about a second anyway.
        defer = getattr(socket, "TCP_DEFER_ACCEPT", None)
        if defer is not None:
            with contextlib.suppress(OSError):
                self.socket.setsockopt(socket.IPPROTO_TCP, defer, 1)

    # --- the socketserver interface ------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serves until `shutdown()` (or Ctrl-C in this thread), then closes the server."""
        self._done.clear()
        try:
            with self._lock:
                if self._closing:
                    return
            self._start_thread()
            while not self._stopping.wait(poll_interval):  # a timed wait lets Ctrl-C through
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self._end_waiting()
            self._done.set()
            self.server_close()

    def shutdown(self) -> None:
        """Stops `serve_forever` (running in another thread) and waits until it has returned."""
        self._end_waiting()
        self._done.wait()

    def shutdown_request(self, request: Any) -> None:
        """Closes a served connection without socketserver's `shutdown(SHUT_WR)` first: the
        handler has closed its files on the socket by now, so `close()` itself sends the FIN,
        and the extra call is one more GIL handoff where a client's next connection is being
        served beside this one (see `dataplane_http`)."""
        with self._lock:
            self._open.discard(request)
        self.close_request(request)

    def server_close(self) -> None:
        """Also ends the connections still open: a keep-alive connection's thread would
        otherwise serve its next request after the server (and its function workers) closed."""
        self._end_waiting()
        with self._lock:
            still_open, self._open = list(self._open), set()
        for connection in still_open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        super().server_close()

    def join_threads(self, timeout: float) -> None:
        """After `server_close()`: waits up to `timeout` seconds for the threads still finishing
        a connection. Without it a thread that had just served the last
        request could still be running (and touching the server) after `stop()` returned."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [t for t in self._running if t is not threading.current_thread()]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # --- the threads -----------------------------------------------------------------------------

    def _start_thread(self) -> None:
        name = f"cogapi-local:{self.server_address[1]}"
        thread = threading.Thread(target=self._accept_and_serve, name=name, daemon=True)
        with self._lock:
            self._running.add(thread)
        thread.start()

    def _accept_and_serve(self) -> None:
        ask_for_short_slices()  # each wake-up of this thread waits less on a busy machine
        try:
            self._serve_connections()
        finally:
            with self._lock:
                self._running.discard(threading.current_thread())

    def _serve_connections(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                if self._closing or len(self._waiting) >= self.SPARE:
                    return
                self._waiting.add(me)
            try:
                request, client_address = self.socket.accept()
            except OSError:  # woken by shutdown(), or accept() failed (e.g. out of descriptors)
                with self._lock:
                    self._waiting.discard(me)
                    if self._closing:
                        return
                time.sleep(0.05)  # what a failing accept() gets before it is tried again
                continue
            with self._lock:
                self._waiting.discard(me)
                if self._closing:
                    request.close()
                    return
                self._open.add(request)
                alone = not self._waiting
            if alone:  # someone must be waiting for the next connection while this one is served
                self._start_thread()
            if self.verify_request(request, client_address):
                self.process_request_thread(request, client_address)  # handles errors, closes
            else:
                self.shutdown_request(request)

    def _end_waiting(self) -> None:
        """Marks the server closing and wakes the threads waiting in accept(); returns once
        they have ended (or after a few seconds, should one not wake)."""
        with self._lock:
            self._closing = True
            waiting = list(self._waiting)
        self._stopping.set()
        if not waiting:
            return
        with contextlib.suppress(OSError):  # Linux wakes every accept() with an error
            self.socket.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 5.0
        for thread in waiting:
            thread.join(0.05)
            while thread.is_alive() and time.monotonic() < deadline:
                self._knock()  # elsewhere a connection of its own wakes one waiter
                thread.join(0.1)

    def _knock(self) -> None:
        host, port = self.server_address[:2]
        address = (str(host), int(port))
        with contextlib.suppress(OSError), socket.create_connection(address, timeout=0.5):
            pass
