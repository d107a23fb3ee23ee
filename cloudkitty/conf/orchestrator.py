"""Options of the [orchestrator] group: processing workers and their locks."""

import os

from oslo_config import cfg

GROUP = "orchestrator"

_CPUS = os.cpu_count() or 1
#: rated points a catching-up worker holds before it commits
CATCH_UP_POINTS = 30_000

opts = [
    cfg.StrOpt(
        "coordination_url",
        default="file:///var/lib/cloudkitty/locks",
        secret=True,
        help="tooz URL of the per-scope locks. file:// works on one host only; use "
        "redis:// (or another tooz backend) when processors run on several hosts.",
    ),
    cfg.IntOpt(
        "max_workers",
        default=_CPUS,
        sample_default="<number of CPUs>",
        min=0,
        help="Processing workers started by cloudkitty-processor (0 disables processing).",
    ),
    cfg.IntOpt(
        "max_workers_reprocessing",
        default=_CPUS,
        sample_default="<number of CPUs>",
        min=0,
        help="Reprocessing workers started by cloudkitty-processor (0 disables them).",
    ),
    cfg.IntOpt(
        "max_threads",
        default=16,
        min=1,
        deprecated_opts=[cfg.DeprecatedOpt("max_greenthreads", group="orchestrator")],
        help="Threads a worker uses to query the source for several metrics at once.",
    ),
    cfg.StrOpt(
        "skip_datapoints_expression",
        default="False",
        help="Expression evaluated for every rated point before storage; true drops "
        "the point. Variables: datapoint (dict with vol, rating, groupby, metadata). "
        "Only comparisons, boolean operators, literals, subscripts and dict .get() "
        "are allowed (it is parsed, never eval'ed).",
    ),
    cfg.IntOpt(
        "collector_request_timeout",
        default=300,
        min=30,
        help="Seconds a worker waits for all metrics of one period to be collected.",
    ),
    cfg.IntOpt(
        "scope_batch_size",
        default=200,
        min=1,
        help="Scopes due for the same period that are collected with one query per "
        "metric (each still locked, rated and committed on its own).",
    ),
    cfg.IntOpt(
        "catch_up_points",
        default=CATCH_UP_POINTS,
        min=0,
        help="While a batch of scopes catches up on several due periods, they are "
        "committed together, several periods per transaction, until about this many "
        "rated points are held in memory: fewer commits and rollup updates (each "
        "scope's rated data and state advance still commit together). 0 commits "
        "every period on its own.",
    ),
    cfg.IntOpt(
        "retry_backoff_max",
        default=3600,
        min=1,
        help="Longest wait, in seconds, before retrying a scope whose last period failed "
        "(the wait doubles from one period-independent minute up to this).",
    ),
    cfg.PortOpt(
        "metrics_port",
        default=0,
        help="Port of the Prometheus exporter of cloudkitty-processor: its master "
        "process serves /metrics with the figures of every worker (periods and points "
        "rated, collection time and errors, rating lag and consecutive errors per "
        "scope). 0 disables it; 9889 "
        "is the suggested port. Workers share their figures through files in "
        "PROMETHEUS_MULTIPROC_DIR (a private temporary directory when unset).",
    ),
    cfg.HostAddressOpt(
        "metrics_host",
        default="127.0.0.1",
        help="Address the processor's Prometheus exporter listens on (see metrics_port); "
        "0.0.0.0 lets a remote Prometheus scrape it.",
    ),
]
