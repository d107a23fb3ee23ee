"""cloudkitty-processor: collect, rate and store usage, scope by scope.

The configuration (metrics.yml, collector, fetcher, storage, skip
expression) is validated before any worker starts: a bad value stops the
processor with one line naming it, and nothing is rated.
"""

from __future__ import annotations

import sys

from oslo_log import log

from cloudkitty import exceptions, service
from cloudkitty.orchestrator import service as orchestrator

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    try:
        orchestrator.check_config(conf)
    except exceptions.ConfigError as error:
        print(f"cloudkitty-processor: configuration error: {error}", file=sys.stderr)
        LOG.error("Configuration error: %s", error)
        return 2
    except exceptions.BackendError as error:
        print(f"cloudkitty-processor: cannot start: {error}", file=sys.stderr)
        LOG.error("Cannot start: %s", error)
        return 3
    orchestrator.run(conf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
