"""cloudkitty-processor: collect, rate and store usage, scope by scope.

The configuration (metrics.yml, collector, fetcher, storage, skip
expression) is validated before any worker starts: a bad value stops the
processor with one line naming it, and nothing is rated. With
``[orchestrator] metrics_port`` the master process also exports the
workers' Prometheus metrics (``orchestrator/exporter.py``).
"""

from __future__ import annotations

import sys

from oslo_log import log

from cloudkitty import exceptions, service
from cloudkitty.orchestrator import exporter

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    # Before the orchestrator is imported: prometheus-client decides at import
    # whether metrics live in memory or in the directory workers share.
    metrics = exporter.prepare(conf)
    from cloudkitty.orchestrator import service as orchestrator

    try:
        orchestrator.check_config(conf)
    except exceptions.ConfigError as error:
        print(f"cloudkitty-processor: configuration error: {error}", file=sys.stderr)
        LOG.error("Configuration error: %s", error)
        return _closed(metrics, 2)
    except exceptions.BackendError as error:
        print(f"cloudkitty-processor: cannot start: {error}", file=sys.stderr)
        LOG.error("Cannot start: %s", error)
        return _closed(metrics, 3)
    if metrics is not None:
        metrics.start()
    try:
        orchestrator.run(conf)
    finally:
        _closed(metrics, 0)
    return 0


def _closed(metrics: exporter.Exporter | None, code: int) -> int:
    if metrics is not None:
        metrics.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
