"""cloudkitty-api: serve the WSGI application on ``[api] host``:``port``.

A threaded stdlib server, enough for small deployments and tests; production
deployments put ``cloudkitty.wsgi.api:application`` behind uWSGI or mod_wsgi.
"""

from __future__ import annotations

import socketserver
import sys
from wsgiref import simple_server

from oslo_log import log

from cloudkitty import service
from cloudkitty.api import app

LOG = log.getLogger(__name__)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        LOG.info("%s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> int:
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    application = app.load_app(conf)
    server = simple_server.make_server(
        conf.api.host,
        conf.api.port,
        application,
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
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
