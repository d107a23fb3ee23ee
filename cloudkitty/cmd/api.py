"""cloudkitty-api: serve the WSGI application on ``[api] host``:``port``.

A threaded stdlib server, enough for small deployments and tests; production
deployments put ``cloudkitty.wsgi.api:application`` behind uWSGI or mod_wsgi.
"""

from __future__ import annotations

import socketserver
import sys
import threading
from typing import Any
from wsgiref import simple_server

from oslo_log import log

from cloudkitty import service
from cloudkitty.api import app

LOG = log.getLogger(__name__)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    """One thread per request, at most ``[api] workers`` at a time."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, workers: int = 8, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(workers)
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Back-pressure: the accept loop waits for a free slot instead of
        # starting an unbounded number of threads under load.
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        LOG.info("%s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> int:
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    application = app.load_app(conf)
    server = _ThreadingWSGIServer(
        (conf.api.host, conf.api.port), _QuietHandler, workers=conf.api.workers
    )
    server.set_app(application)
    LOG.info("cloudkitty-api listening on http://%s:%s", conf.api.host, conf.api.port)
    print(f"cloudkitty-api listening on http://{conf.api.host}:{conf.api.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
