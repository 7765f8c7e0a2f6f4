"""What the loopback fakes share: a JSON-answering request handler and the life of the
process for fake_sso.py and fake_signin.py, and the stdin watch for vault_moto.py too. A
fake serves on 127.0.0.1 only, prints ``READY http://127.0.0.1:PORT`` once it answers, and
exits on SIGTERM, SIGINT or the end of its stdin (so a test process that dies cannot leave
it running).

It owns no protocol: each fake's routes, errors and state are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


class JsonHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with a length on every answer; a subclass routes in ``route(method)``."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def send(self, status: int, body: Any, headers: dict[str, str] | None = None, text: str | None = None) -> None:
        """``body`` as JSON (``None``: no body), or ``text`` as an HTML page."""
        if text is not None:
            data, kind = text.encode(), "text/html; charset=utf-8"
        else:
            data, kind = (b"" if body is None else json.dumps(body).encode()), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def route(self, method: str) -> None:
        raise NotImplementedError


def watch_stdin(stop: threading.Event) -> None:
    """Sets ``stop`` at the end of stdin: the parent test holds its write end, so EOF means
    the test is gone."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    stop.set()


def main(description: str, moto_help: str, start: Callable[[dict[str, Any] | None, str], type[JsonHandler]]) -> int:
    """Parses ``--moto-state`` and ``--ignore-stdin``, binds a free port, and serves the
    handler ``start(moto_state, base_url)`` returns until told to stop."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--moto-state", help=moto_help)
    parser.add_argument("--ignore-stdin", action="store_true", help="do not exit on stdin EOF (manual runs)")
    args = parser.parse_args()
    moto = None
    if args.moto_state:
        with open(args.moto_state) as f:
            moto = json.load(f)
    server = ThreadingHTTPServer(("127.0.0.1", 0), JsonHandler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    # The fake may need its own address (redirects, URLs it hands out): known once bound.
    server.RequestHandlerClass = start(moto, base)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if not args.ignore_stdin:
        threading.Thread(target=watch_stdin, args=(stop,), name="stdin-watch", daemon=True).start()
    print(f"READY {base}", flush=True)
    stop.wait()
    server.shutdown()
    return 0
